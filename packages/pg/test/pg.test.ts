import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describeFaults, pgFaultExpectations } from "@hyperdrive-kit/testing/faults";
import { describeStreams } from "@hyperdrive-kit/testing/streams";
import { bindings, describeConformance, failure, useMode } from "@hyperdrive-kit/testing/suite";
import { describe, expect, it } from "vitest";
import { withHyperdrive } from "../src/index.ts";

describe("pg Client", () => {
  describeConformance({ derived: false });
  describe("under real faults", () => describeFaults(pgFaultExpectations));
  describe("row streams", () => describeStreams(pgFaultExpectations.reset));
});

describe("pg Pool ({ pool: true })", () => {
  useMode({ pool: true });
  describeConformance();
  describe("under real faults", () => describeFaults(pgFaultExpectations));
  describe("row streams", () => describeStreams(pgFaultExpectations.reset));
});

describe("pg edge cases", () => {
  it("bounds a connect that pg itself fails (an empty password against SCRAM) and types its error", async () => {
    // pg throws "SASL: … client password must be a string" while parsing the server's answer; it used to wait for
    // the server's authentication_timeout (60 s) and surface untyped.
    const binding = { ...bindings.HYPERDRIVE, password: "" };
    const url = new URL(binding.connectionString);
    url.password = "";
    const ctx = createExecutionContext();
    const started = Date.now();
    const error = await failure(() =>
      withHyperdrive(env, ctx, (client) => client.query("select 1"), {
        binding: { ...binding, connectionString: url.toString() },
        connectTimeoutMs: 2_000,
      }),
    );
    await waitOnExecutionContext(ctx);
    expect(error.code).toBe("HDK_CONFIG_INVALID_CREDENTIALS");
    expect(error.message).toContain("SASL");
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("lets user code call connect() itself, once or twice", async () => {
    const ctx = createExecutionContext();
    const rows = await withHyperdrive(env, ctx, async (client) => {
      await client.connect();
      await client.connect();
      return (await client.query("select 2 as two")).rows;
    });
    await waitOnExecutionContext(ctx);
    expect(rows).toEqual([{ two: 2 }]);
  });

  it("supports callback-style connect() and query()", async () => {
    const ctx = createExecutionContext();
    const rows = await withHyperdrive(
      env,
      ctx,
      (client) =>
        new Promise((resolve, reject) => {
          client.connect((error: Error | undefined) => {
            if (error) return reject(error);
            client.query("select 3 as three", (queryError, result) =>
              queryError ? reject(queryError) : resolve(result.rows),
            );
          });
        }),
    );
    await waitOnExecutionContext(ctx);
    expect(rows).toEqual([{ three: 3 }]);
  });

  it("runs parallel queries on a per-request Pool of at most 5 connections", async () => {
    const ctx = createExecutionContext();
    const result = await withHyperdrive(
      env,
      ctx,
      async (pool) => {
        const rows = await Promise.all(
          Array.from({ length: 8 }, (_, i) => pool.query(`select ${i} as i, pg_backend_pid() as pid`)),
        );
        return {
          ids: rows.map((r) => r.rows[0].i),
          pids: new Set(rows.map((r) => r.rows[0].pid)).size,
          max: pool.options.max,
        };
      },
      { pool: true },
    );
    await waitOnExecutionContext(ctx);
    expect(result.ids).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(result.max).toBe(5);
    expect(result.pids).toBeGreaterThan(1);
    expect(result.pids).toBeLessThanOrEqual(5);
  });

  it("refuses a pool above the Workers connection limit, and TLS on the Hyperdrive hop", async () => {
    const ctx = createExecutionContext();
    const tooMany = await failure(() => withHyperdrive(env, ctx, async () => 1, { pool: true, client: { max: 7 } }));
    expect(tooMany.code).toBe("HDK_UNSAFE_OPTION");
    expect(tooMany.message).toContain("allowUnsafe");
    const tls = await failure(() => withHyperdrive(env, ctx, async () => 1, { client: { ssl: true } }));
    expect(tls.code).toBe("HDK_UNSAFE_OPTION");
  });

  it("passes database errors through unchanged (SQLSTATE intact)", async () => {
    const ctx = createExecutionContext();
    const error = await failure(() =>
      withHyperdrive(env, ctx, (client) => client.query("select * from no_such_table")),
    );
    await waitOnExecutionContext(ctx);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).not.toBe("HyperdriveError");
    expect(error.code).toBe("42P01");
  });

  it("maps a query on a client ended inside the handle to the seed's pg error, with a fix for that situation", async () => {
    const ctx = createExecutionContext();
    const error = await failure(() =>
      withHyperdrive(env, ctx, async (client) => {
        await client.query("select 1");
        await client.end();
        return client.query("select 1");
      }),
    );
    await waitOnExecutionContext(ctx);
    expect(error.code).toBe("HDK_PG_CLIENT_CLOSED");
    // The user's own end() inside the handle, not a client reused across requests.
    expect(error.fix).toContain("`end()` was called on it earlier in this request");
    expect(error.fix).not.toContain("Create a new `Client`");
  });
});
