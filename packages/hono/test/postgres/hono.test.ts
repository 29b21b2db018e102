import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { RequestScope } from "@hyperdrive-kit/core";
import { createDrizzle } from "@hyperdrive-kit/drizzle/postgres";
import { postgresAdapter, type Sql } from "@hyperdrive-kit/postgres";
import { describeFaults, postgresJsFaultExpectations } from "@hyperdrive-kit/testing/faults";
import { bindings, connections, describeConformance, eventually } from "@hyperdrive-kit/testing/suite";
import { sql as drizzleSql } from "drizzle-orm";
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { streamText } from "hono/streaming";
import { describe, expect, it } from "vitest";
import { type HyperdriveErrorBody, hyperdrive, hyperdriveErrorHandler } from "../../src/index.ts";

describe("Hono middleware on Postgres.js", () => {
  describeConformance();
  describe("under real faults", () => describeFaults(postgresJsFaultExpectations));
});

type Vars = { Variables: { db: Sql; dbScope: RequestScope } };

/** Runs one request through `app` as workerd would, and waits for everything it left to `ctx.waitUntil`. */
async function serve(app: Hono<Vars>, path = "/") {
  const ctx = createExecutionContext();
  const response = await app.fetch(new Request(`http://hono.test${path}`), env, ctx);
  const text = await response.text();
  await waitOnExecutionContext(ctx);
  return { response, text };
}

describe("Hono middleware: what Hono users meet", () => {
  it("works where c.executionCtx throws (app.request() in tests): the handle works and teardown still runs", async () => {
    const app = new Hono<Vars>();
    let scope: RequestScope | undefined;
    app.use(hyperdrive(postgresAdapter));
    app.get("/", async (c) => {
      scope = c.var.dbScope;
      expect(() => c.executionCtx).toThrow("This context has no ExecutionContext");
      return c.json((await c.var.db`select 1 as one`)[0]);
    });
    const response = await app.request("/", {}, env);
    expect(await response.json()).toEqual({ one: 1 });
    await scope?.closed;
    expect(scope?.state).toBe("closed");
    expect(await connections()).toBe(0);
  });

  it("refuses a misspelt option when the middleware is made, listing its own options with the adapter's", () => {
    const made = () => hyperdrive(postgresAdapter, { serverTimming: true } as never);
    expect(made).toThrow(
      expect.objectContaining({
        code: "HDK_INVALID_OPTION",
        message: expect.stringMatching(
          /Unknown option `serverTimming`\. Did you mean `serverTiming`\?.*`client`, `as`, `map`, `serverTiming`\./,
        ),
      }),
    );
    expect(() => hyperdrive(postgresAdapter, { teardown: "never" as "none" })).toThrow(
      expect.objectContaining({ code: "HDK_INVALID_OPTION" }),
    );
    expect(() => hyperdrive(postgresAdapter, { as: "sql", serverTiming: true, teardown: "none" })).not.toThrow();
  });

  it("answers before teardown has finished: the middleware never awaits the close after next()", async () => {
    const app = new Hono<Vars>();
    let scope: RequestScope | undefined;
    app.use(hyperdrive(postgresAdapter));
    app.get("/", async (c) => {
      scope = c.var.dbScope;
      return c.json((await c.var.db`select 1 as one`)[0]);
    });
    const ctx = createExecutionContext();
    const response = await app.fetch(new Request("http://hono.test/"), env, ctx);
    // The response is out and the connection not yet closed. (A JSON body has a known length: settle() read it into
    // memory, so teardown has already begun; a streamed body's end starts it, see below.)
    expect(scope?.state).toBe("closing");
    expect(await response.json()).toEqual({ one: 1 });
    await waitOnExecutionContext(ctx);
    expect(scope?.state).toBe("closed");
    expect(await connections()).toBe(0);
  });

  it("queries from Hono's streamText() body and tears down after its last chunk", async () => {
    const app = new Hono<Vars>();
    let scope: RequestScope | undefined;
    app.use(hyperdrive(postgresAdapter));
    app.get("/", (c) => {
      scope = c.var.dbScope;
      return streamText(c, async (stream) => {
        for (let i = 0; i < 3; i++) {
          const [row] = await c.var.db`select ${i}::int as i`;
          await stream.writeln(JSON.stringify(row));
        }
      });
    });
    const { text } = await serve(app);
    expect(text.trim().split("\n")).toEqual(['{"i":0}', '{"i":1}', '{"i":2}']);
    expect(scope?.state).toBe("closed");
    expect(await connections()).toBe(0);
  });

  it("adds a Server-Timing header with query time and counts when asked", async () => {
    const app = new Hono<Vars>();
    app.use(hyperdrive(postgresAdapter, { serverTiming: true }));
    app.get("/", async (c) => {
      await c.var.db`select 1`;
      await c.var.db`select 2`;
      return c.text("ok");
    });
    const { response } = await serve(app);
    expect(response.headers.get("server-timing")).toMatch(
      /^db;dur=\d+\.\d;desc="2 queries, 1 connect", db-connect;dur=\d+\.\d$/,
    );
    const plain = new Hono<Vars>();
    plain.use(hyperdrive(postgresAdapter));
    plain.get("/", (c) => c.text("ok"));
    expect((await serve(plain)).response.headers.has("server-timing")).toBe(false);
  });

  it("puts the handle under another name and maps it (an ORM), with the same guarantees", async () => {
    type Db = ReturnType<typeof createDrizzle>;
    const app = new Hono<{ Variables: { orm: Db } }>();
    let kept: Db | undefined;
    app.use(hyperdrive(postgresAdapter, { as: "orm", map: (sql) => createDrizzle(sql) }));
    app.get("/", async (c) => {
      kept = c.var.orm;
      return c.json([...(await c.var.orm.execute(drizzleSql`select 1 as one`))]);
    });
    app.onError(hyperdriveErrorHandler());
    expect(JSON.parse((await serve(app as never)).text)).toEqual([{ one: 1 }]);
    const reuse = new Hono();
    reuse.get("/", async (c) => c.json([...(await (kept as Db).execute(drizzleSql`select 1`))]));
    reuse.onError(hyperdriveErrorHandler());
    const { response, text } = await serve(reuse as never);
    expect(response.status).toBe(500);
    expect(JSON.parse(text)).toEqual({
      error: { code: "HDK_HANDLE_AFTER_TEARDOWN", category: "usage", retryable: false },
    });
  });

  it("answers HyperdriveErrors with code, category and retryable; the fix only when exposeFix says so", async () => {
    const app = (exposeFix: boolean) => {
      const a = new Hono<Vars>();
      a.use(hyperdrive(postgresAdapter, { binding: "DOWN", connectTimeoutMs: 2_000 }));
      a.get("/", async (c) => c.json(await c.var.db`select 1`));
      a.onError(hyperdriveErrorHandler({ exposeFix: () => exposeFix, log: false }));
      return a;
    };
    const hidden = await serve(app(false));
    expect(hidden.response.status).toBe(503);
    expect(JSON.parse(hidden.text)).toEqual({
      error: { code: "HDK_CONNECT_REFUSED", category: "connection", retryable: true },
    });
    const shown = await serve(app(true));
    const body = JSON.parse(shown.text) as HyperdriveErrorBody;
    expect(body.error.fix).toBeTruthy();
    expect(body.error.message).toContain("HDK_CONNECT_REFUSED");
    // Never a secret: the DOWN binding's password and connection string are nowhere in the answer.
    expect(shown.text).not.toContain(bindings.DOWN.password);
    expect(shown.text).not.toContain(bindings.DOWN.connectionString);
  });

  it("answers other errors as Hono would: an HTTPException's response, else 500", async () => {
    const app = new Hono<Vars>();
    app.use(hyperdrive(postgresAdapter));
    app.get("/teapot", () => {
      throw new HTTPException(418, { message: "short and stout" });
    });
    app.get("/bug", () => {
      throw new TypeError("x is not a function");
    });
    app.onError(hyperdriveErrorHandler({ log: false }));
    expect((await serve(app, "/teapot")).response.status).toBe(418);
    const bug = await serve(app, "/bug");
    expect([bug.response.status, bug.text]).toEqual([500, "Internal Server Error"]);
    // The handler threw: the scope still closed, and the database holds nothing.
    expect(await eventually(connections, (n) => n === 0)).toBe(0);
  });
});
