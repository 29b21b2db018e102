import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { withHyperdrive } from "@hyperdrive-kit/pg";
import { describeNotesWorker } from "@hyperdrive-kit/testing/notes-example";
import { describe } from "vitest";
import app from "../src/index.ts";

/** Client connections the server holds to the test database, not counting the one asking (through ADMIN). */
async function connections(): Promise<number> {
  const ctx = createExecutionContext();
  const rows = await withHyperdrive(
    env,
    ctx,
    async (client) =>
      (
        await client.query<{ n: number }>(
          "select count(*)::int as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and backend_type = 'client backend'",
        )
      ).rows,
    { binding: "ADMIN" },
  );
  await waitOnExecutionContext(ctx);
  return Number(rows[0]?.n);
}

describe("Hono + Drizzle on PostgreSQL", () => {
  describeNotesWorker({
    connections,
    firstTitle: "Create the client inside the handler",
    createQueries: "1 query",
    app,
  });
});
