import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { isHyperdriveError, type RequestScope } from "@hyperdrive-kit/core";
import { createDrizzle } from "@hyperdrive-kit/drizzle/pg";
import { pgClientAdapter } from "@hyperdrive-kit/pg";
import { connections } from "@hyperdrive-kit/testing/suite";
import { sql } from "drizzle-orm";
import { Hono } from "hono";
import type { Client } from "pg";
import { describe, expect, it } from "vitest";
import { hyperdrive, hyperdriveErrorHandler } from "../../src/index.ts";

/** An `env` as a Worker deployed without a `hyperdrive` entry has it: other vars, no Hyperdrive binding. */
const noDatabase = { API_TOKEN: "a plain var" };

async function serve(app: Hono<never>, path: string, environment: object = noDatabase) {
  const ctx = createExecutionContext();
  const response = await app.fetch(new Request(`http://hono.test${path}`), environment, ctx);
  const text = await response.text();
  await waitOnExecutionContext(ctx);
  return { status: response.status, text };
}

describe("Hono middleware without a binding: only the routes that use the database fail", () => {
  it("answers a health check and a 404 as usual, and a database route with HDK_BINDING_MISSING", async () => {
    const app = new Hono<{ Variables: { db: Client; dbScope: RequestScope } }>();
    app.use(hyperdrive(pgClientAdapter));
    app.get("/health", (c) => c.text("ok"));
    app.get("/users", async (c) => c.json((await c.var.db.query("select 1 as one")).rows));
    app.onError(hyperdriveErrorHandler({ log: false }));
    expect(await serve(app as never, "/health")).toEqual({ status: 200, text: "ok" });
    expect((await serve(app as never, "/nowhere")).status).toBe(404);
    const users = await serve(app as never, "/users");
    expect(users.status).toBe(500);
    expect(JSON.parse(users.text)).toEqual({
      error: { code: "HDK_BINDING_MISSING", category: "usage", retryable: false },
    });
    // With the binding there, the same app queries.
    expect(JSON.parse((await serve(app as never, "/users", env)).text)).toEqual([{ one: 1 }]);
    expect(await connections()).toBe(0);
  });

  it("throws the typed error, with the bindings env has, where a route uses the handle; a catch sees it", async () => {
    const app = new Hono<{ Variables: { db: Client } }>();
    app.use(hyperdrive(pgClientAdapter, { binding: "NOPE" }));
    app.get("/", async (c) => {
      try {
        await c.var.db.query("select 1");
        return c.text("unreachable");
      } catch (error) {
        if (!isHyperdriveError(error)) throw error;
        return c.json({ code: error.code, message: error.message }, 503);
      }
    });
    const { status, text } = await serve(app as never, "/", env);
    expect(status).toBe(503);
    const body = JSON.parse(text) as { code: string; message: string };
    expect(body.code).toBe("HDK_BINDING_MISSING");
    expect(body.message).toMatch(/Hyperdrive bindings in env: .*HYPERDRIVE/);
  });

  it("does not build the mapped ORM without a client, and fails its first query with the typed error", async () => {
    let built = 0;
    const app = new Hono<{ Variables: { db: ReturnType<typeof createDrizzle> } }>();
    app.use(
      hyperdrive(pgClientAdapter, {
        map: (client) => {
          built++;
          return createDrizzle(client);
        },
      }),
    );
    // Cloudflare's react-postgres template has such a mode: no binding, the page says so instead of querying.
    app.get("/", (c) => c.text("no database configured"));
    app.get("/count", async (c) => c.json([...(await c.var.db.execute(sql`select 1 as one`)).rows]));
    app.onError(hyperdriveErrorHandler({ log: false }));
    expect(await serve(app as never, "/")).toEqual({ status: 200, text: "no database configured" });
    const count = await serve(app as never, "/count");
    expect([count.status, JSON.parse(count.text).error.code]).toEqual([500, "HDK_BINDING_MISSING"]);
    expect(built).toBe(0);
    expect(JSON.parse((await serve(app as never, "/count", env)).text)).toEqual([{ one: 1 }]);
    expect(built).toBe(1);
  });

  it("can be logged and inspected without throwing: only a use of the handle does", async () => {
    let seen: unknown;
    const app = new Hono<{ Variables: { db: Client } }>();
    app.use(hyperdrive(pgClientAdapter));
    app.get("/", (c) => {
      seen = c.var.db;
      return c.text(`${Object.keys(c.var).sort().join(",")} ${String(Object.prototype.toString.call(c.var.db))}`);
    });
    expect(await serve(app as never, "/")).toEqual({ status: 200, text: "db,dbScope [object Function]" });
    expect(() => (seen as Client).query("select 1")).toThrow(expect.objectContaining({ code: "HDK_BINDING_MISSING" }));
  });
});
