/**
 * Every README's TypeScript snippets compile under strict tsc in a project outside the workspace, from the packed
 * tarballs and exactly what each README's Install section names, an integration's with its adapter's
 * (scripts/readme-snippets.ts), and each adapter's handle is typed there, not `any`.
 */
import { expect, it } from "vitest";
import { checkReadmeSnippets } from "../scripts/readme-snippets.ts";

it("compiles every README snippet as a new user's project would", { timeout: 600_000 }, async () => {
  const outcomes = await checkReadmeSnippets();
  // The root README, core's, the four adapters' and the Hono, Drizzle and Kysely integrations'.
  expect(outcomes.length).toBeGreaterThanOrEqual(9);
  expect(outcomes.reduce((n, o) => n + o.snippets, 0)).toBeGreaterThanOrEqual(25);
  const failures = outcomes.filter((o) => o.errors).map((o) => `${o.readme}:\n${o.errors}`);
  expect(failures.join("\n\n")).toBe("");
});
