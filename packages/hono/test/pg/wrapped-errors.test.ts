import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { createDrizzle } from "@hyperdrive-kit/drizzle/pg";
import { pgClientAdapter } from "@hyperdrive-kit/pg";
import { sql } from "drizzle-orm";
import { DrizzleQueryError } from "drizzle-orm/errors";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { hyperdrive, hyperdriveErrorHandler } from "../../src/index.ts";

type Db = ReturnType<typeof createDrizzle>;

async function serve(app: Hono<never>, path: string) {
  const ctx = createExecutionContext();
  const response = await app.fetch(new Request(`http://hono.test${path}`), env, ctx);
  const text = await response.text();
  await waitOnExecutionContext(ctx);
  return { status: response.status, body: JSON.parse(text) as { error: Record<string, unknown> } };
}

describe("hyperdriveErrorHandler finds the HyperdriveError behind the wrappers apps and ORMs put around it", () => {
  it("through Drizzle's DrizzleQueryError, and the app's own wrapper around that, on a refused connection", async () => {
    let caught: unknown;
    const app = new Hono<{ Variables: { db: Db } }>();
    app.use(hyperdrive(pgClientAdapter, { binding: "DOWN", connectTimeoutMs: 5_000, map: (c) => createDrizzle(c) }));
    app.get("/drizzle", async (c) => c.json(await c.var.db.execute(sql`select 1`)));
    app.get("/wrapped", async (c) => {
      try {
        return c.json(await c.var.db.execute(sql`select 1`));
      } catch (error) {
        caught = error;
        throw new Error("Could not list the todos", { cause: error });
      }
    });
    app.onError(hyperdriveErrorHandler({ log: false, exposeFix: true }));
    for (const path of ["/drizzle", "/wrapped"]) {
      const { status, body } = await serve(app as never, path);
      expect(status).toBe(503);
      expect(body.error).toMatchObject({ code: "HDK_CONNECT_REFUSED", category: "connection", retryable: true });
      expect(body.error.fix).toEqual(expect.any(String));
    }
    expect(caught).toBeInstanceOf(DrizzleQueryError);
  });
});
