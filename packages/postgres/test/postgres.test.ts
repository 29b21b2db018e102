import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { findHyperdriveError } from "@hyperdrive-kit/core";
import { describeFaults, postgresJsFaultExpectations } from "@hyperdrive-kit/testing/faults";
import { describeStreams } from "@hyperdrive-kit/testing/streams";
import { connections, describeConformance, eventually, failure } from "@hyperdrive-kit/testing/suite";
import postgres from "postgres";
import { describe, expect, inject, it } from "vitest";
import {
  type HyperdriveEvent,
  isHyperdriveError,
  type PostgresClientOptions,
  type Sql,
  withHyperdrive,
} from "../src/index.ts";
import { driverMajor, unsupportedDriver } from "../src/postgres.ts";

/** The Postgres.js major this run imports (`vitest.postgres4.config.ts` aliases `postgres` to 4.x). */
const POSTGRES_JS_MAJOR = (env as unknown as { POSTGRES_JS_MAJOR: 3 | 4 }).POSTGRES_JS_MAJOR;

/** The fault control server of the test setup (stops and starts the database). */
const control = async (path: string) => {
  const response = await fetch(`${inject("controlUrl")}${path}`, { method: "POST", body: "{}" });
  if (!response.ok) throw new Error(`control ${path}: ${response.status}`);
};

describe("Postgres.js", () => {
  describeConformance();
  describe("under real faults", () => describeFaults(postgresJsFaultExpectations));
  describe("row streams", () => describeStreams(postgresJsFaultExpectations.reset));
});

describe("Postgres.js edge cases", () => {
  it("applies Hyperdrive's defaults and merges user options over them", async () => {
    const ctx = createExecutionContext();
    const options = await withHyperdrive(env, ctx, async (sql) => sql.options);
    const merged = await withHyperdrive(env, ctx, async (sql) => sql.options, {
      client: { max: 2, fetch_types: true },
    });
    await waitOnExecutionContext(ctx);
    expect({ max: options.max, fetch_types: options.fetch_types, prepare: options.prepare }).toEqual({
      max: 5,
      fetch_types: false,
      prepare: true,
    });
    expect({ max: merged.max, fetch_types: merged.fetch_types, prepare: merged.prepare }).toEqual({
      max: 2,
      fetch_types: true,
      prepare: true,
    });
  });

  it("refuses prepare: false with the seed's caching fix, unless allowed", async () => {
    const ctx = createExecutionContext();
    const refused = await failure(() => withHyperdrive(env, ctx, async () => 1, { client: { prepare: false } }));
    expect(refused.code).toBe("HDK_PREPARE_FALSE_DEFEATS_CACHING");
    expect(refused.fix).toContain("enable prepared statements with `prepare: true`");
    const allowed = await withHyperdrive(env, ctx, async (sql) => (await sql`select 1 as one`)[0], {
      client: { prepare: false },
      allowUnsafe: ["prepare"],
    });
    await waitOnExecutionContext(ctx);
    expect(allowed).toEqual({ one: 1 });
  });

  it("refuses max above the Workers connection limit", async () => {
    const ctx = createExecutionContext();
    expect((await failure(() => withHyperdrive(env, ctx, async () => 1, { client: { max: 10 } }))).code).toBe(
      "HDK_UNSAFE_OPTION",
    );
  });

  it("keeps Postgres.js's query object: .values(), transactions, parameters", async () => {
    const ctx = createExecutionContext();
    const result = await withHyperdrive(env, ctx, async (sql) => {
      const values = await sql`select ${41} + 1 as answer`.values();
      const inTx = await sql.begin(async (tx) => (await tx`select 7 as seven`)[0]);
      return { values, inTx };
    });
    await waitOnExecutionContext(ctx);
    expect(result).toEqual({ values: [[42]], inTx: { seven: 7 } });
  });

  it("passes database errors through unchanged (SQLSTATE intact)", async () => {
    const ctx = createExecutionContext();
    const error = await failure(() => withHyperdrive(env, ctx, (sql) => sql`select * from no_such_table`));
    await waitOnExecutionContext(ctx);
    expect(error.name).toBe("PostgresError");
    expect(error.code).toBe("42P01");
  });

  it("maps a query after sql.end() to the seed's CONNECTION_ENDED row", async () => {
    const ctx = createExecutionContext();
    const error = await failure(() =>
      withHyperdrive(env, ctx, async (sql) => {
        await sql`select 1`;
        await sql.end();
        return sql`select 1`;
      }),
    );
    await waitOnExecutionContext(ctx);
    expect(error.code).toBe("HDK_POSTGRES_CONNECTION_ENDED");
  });
});

describe("Postgres.js cursor streams that end early", () => {
  /** A response streaming a cursor, as users write it: no `cancel()` that returns the iterator. */
  async function cursorResponse(ctx: ExecutionContext, events: HyperdriveEvent[], rows: number): Promise<Response> {
    const encoder = new TextEncoder();
    return withHyperdrive(
      env,
      ctx,
      async (sql) => {
        const iterator = sql`select generate_series(1, ${rows}) as n`.cursor(100)[Symbol.asyncIterator]();
        return new Response(
          new ReadableStream<Uint8Array>({
            async pull(controller) {
              const { value, done } = await iterator.next();
              if (done) controller.close();
              else controller.enqueue(encoder.encode(`${JSON.stringify(value)}\n`));
            },
          }),
        );
      },
      { onEvent: (event) => events.push(event) },
    );
  }

  const teardowns = (events: readonly HyperdriveEvent[]) =>
    events.flatMap((event) => (event.type === "teardown" ? [event.outcome] : []));

  it("closes promptly when the client cancels the body mid-cursor (the query is ended, not waited for)", async () => {
    const ctx = createExecutionContext();
    const events: HyperdriveEvent[] = [];
    const reader = ((await cursorResponse(ctx, events, 100_000)).body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    await reader.cancel(); // what workerd does when the HTTP client disconnects
    await waitOnExecutionContext(ctx);
    // It used to wait out teardownTimeoutMs (HDK_TEARDOWN_TIMEOUT) with the backend held.
    expect(teardowns(events)).toEqual(["closed"]);
    expect(await connections()).toBe(0);
  });

  it("closes promptly when the database stops mid-stream", async () => {
    const ctx = createExecutionContext();
    const events: HyperdriveEvent[] = [];
    const reader = ((await cursorResponse(ctx, events, 1_000_000)).body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    await control("/server/halt");
    let outcome = "ended";
    try {
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read());
    } catch {
      outcome = "errored";
    }
    try {
      await waitOnExecutionContext(ctx);
    } finally {
      await control("/server/resume");
    }
    // A body cut short by the database ends in an error, never as if the rows were all there (issue 32, item 2).
    expect(outcome).toBe("errored");
    expect(teardowns(events)).toEqual(["closed"]);
  });
});

describe("Postgres.js connect failures: typed, at once or at the bound, nothing left (issue 34)", () => {
  const BOUND_MS = 1500;
  const setOrigin = (options: object) =>
    fetch(`${inject("controlUrl")}/origin`, { method: "POST", body: JSON.stringify(options) });
  const setProxy = (mode: object) =>
    fetch(`${inject("controlUrl")}/proxy/mode`, { method: "POST", body: JSON.stringify({ mode, resetAll: true }) });
  const cases = [
    { name: "refused (nothing listens)", binding: "DOWN", code: "HDK_CONNECT_REFUSED" },
    {
      name: "closed (accepted, then reset)",
      binding: "VIA_PROXY",
      code: "HDK_CONNECT_REFUSED",
      before: () => setProxy({ kind: "refuse" }),
      after: () => setProxy({ kind: "pass" }),
    },
    { name: "silent (accepts, never answers)", binding: "HANGS", code: "HDK_TIMEOUT" },
    {
      // Postgres.js 4 retries 53300 (transient to its pool) until `connect_timeout`: the server's refusal must end
      // the wait at once, as on 3.4.x, however long the bound, with the server's words and SQLSTATE kept.
      name: "53300 too many connections",
      binding: "FAKE_ORIGIN",
      code: "HDK_CONNECT_REFUSED",
      sqlState: "53300",
      said: "sorry, too many clients already",
      boundMs: 120_000,
      before: () => setOrigin({ error: "sorry, too many clients already", code: "53300", failAt: "startup" }),
      after: () => setOrigin({}),
    },
  ];

  for (const failureCase of cases) {
    it(`${failureCase.name}: ${failureCase.code}`, async () => {
      await failureCase.before?.();
      const ctx = createExecutionContext();
      const started = Date.now();
      const boundMs = failureCase.boundMs ?? BOUND_MS;
      try {
        const error = await within(
          BOUND_MS + 15_000,
          failure(() =>
            withHyperdrive(env, ctx, (sql) => sql`select 1`, {
              binding: failureCase.binding,
              connectTimeoutMs: boundMs,
            }),
          ),
        );
        const ms = Date.now() - started;
        await waitOnExecutionContext(ctx);
        console.log(`[connect] Postgres.js ${POSTGRES_JS_MAJOR}: ${failureCase.name} → ${error.code} in ${ms} ms`);
        expect(isHyperdriveError(error), String(error)).toBe(true);
        expect(error.code, error.message).toBe(failureCase.code);
        expect((error as { sqlState?: string }).sqlState).toBe(failureCase.sqlState);
        if (failureCase.said !== undefined) expect(error.message).toContain(`driver said: ${failureCase.said}`);
        // A timeout comes at the bound (plus scheduling slack), never later: a failure the driver retries included.
        if (error.code === "HDK_TIMEOUT") expect(ms).toBeLessThan(BOUND_MS + 5_000);
      } finally {
        await failureCase.after?.();
      }
      expect(await noConnectionsLeft()).toBe(0);
    });
  }
});

describe("Postgres.js cursors under queryTimeoutMs and faults (issue 32: items 2 and 3)", () => {
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it("reads a cursor slower than queryTimeoutMs to its end, and the handle still answers after it", async () => {
    const ctx = createExecutionContext();
    const events: HyperdriveEvent[] = [];
    const result = await withHyperdrive(
      env,
      ctx,
      async (sql) => {
        const rows: number[] = [];
        // The reader's pace, not the server's: 6 reads 400 ms apart outlast the 1 s bound on one wait.
        for await (const batch of sql`select generate_series(1, 6) as n`.cursor(1)) {
          rows.push(...batch.map((row) => Number(row.n)));
          await pause(400);
        }
        const [after] = await sql`select 1 as one`;
        return { rows, after };
      },
      { queryTimeoutMs: 1000, onEvent: (event) => events.push(event) },
    );
    await waitOnExecutionContext(ctx);
    // It used to end after 2 or 3 rows without an error, and the next query failed with a false HDK_TIMEOUT.
    expect(result).toEqual({ rows: [1, 2, 3, 4, 5, 6], after: { one: 1 } });
    expect(events.filter((event) => event.type === "error")).toEqual([]);
    expect(await noConnectionsLeft()).toBe(0);
  });

  it("bounds each read of a cursor: one the server does not answer in time throws HDK_TIMEOUT", async () => {
    const ctx = createExecutionContext();
    const rows: number[] = [];
    const error = await failure(() =>
      withHyperdrive(
        env,
        ctx,
        async (sql) => {
          const slowThird = sql`select n, pg_sleep(case when n = 3 then 4 else 0 end) from generate_series(1, 5) n`;
          for await (const batch of slowThird.cursor(1)) rows.push(...batch.map((row) => Number(row.n)));
          return rows;
        },
        { queryTimeoutMs: 1500 },
      ),
    );
    await waitOnExecutionContext(ctx);
    expect(rows).toEqual([1, 2]);
    expect(isHyperdriveError(error) && error.code).toBe("HDK_TIMEOUT");
    // The server runs the sleep out before it notices the connection is gone.
    expect(await noConnectionsLeft()).toBe(0);
  });

  it("throws a typed error, never ends early, when the cursor's connection is reset between two reads", async () => {
    const ctx = createExecutionContext();
    const rows: number[] = [];
    const setProxy = (resetAll: boolean) =>
      fetch(`${inject("controlUrl")}/proxy/mode`, {
        method: "POST",
        body: JSON.stringify({ mode: { kind: "pass" }, resetAll }),
      });
    const error = await failure(() =>
      withHyperdrive(
        env,
        ctx,
        async (sql) => {
          for await (const batch of sql`select generate_series(1, 100000) as n`.cursor(100)) {
            rows.push(...batch.map((row) => Number(row.n)));
            // Between the first and the second read: the reader is busy, no read is pending.
            if (rows.length === 100) await setProxy(true);
          }
          return rows.length;
        },
        { binding: "VIA_PROXY" },
      ),
    );
    await waitOnExecutionContext(ctx);
    await setProxy(false);
    // It used to end after the first batch with no error (3.x), or reject untyped ("Network connection lost.").
    expect(rows.length).toBeLessThan(100000);
    expect(isHyperdriveError(error), String(error)).toBe(true);
  });
});

describe("Postgres.js begin() when its connection dies (issue 32: item 6)", () => {
  /** Ends the backend `pid` from a handle of its own, as a failover or `pg_terminate_backend` would. */
  const kill = async (pid: number) => {
    const ctx = createExecutionContext();
    await withHyperdrive(env, ctx, (sql) => sql`select pg_terminate_backend(${pid})`);
    await waitOnExecutionContext(ctx);
  };

  it("rejects typed, in the driver's own idiom, and nothing goes uncaught", async () => {
    const outcomes: string[] = [];
    const { uncaught } = await noteUncaught(async () => {
      for (let i = 0; i < 6; i++) {
        const ctx = createExecutionContext();
        const error = await failure(() =>
          withHyperdrive(env, ctx, (sql) =>
            sql.begin(async (tx) => {
              const [row] = await tx`select pg_backend_pid() as pid`;
              const running = tx`select pg_sleep(5)`;
              // The kill lands on the running query: the error reaches the transaction, which then sends ROLLBACK.
              setTimeout(() => void kill(Number(row?.pid)), 100 + i * 20);
              return running;
            }),
          ),
        );
        await waitOnExecutionContext(ctx);
        outcomes.push(String(error.code));
      }
    });
    console.log(`[begin] connection killed in a transaction: ${outcomes.join(", ")}; uncaught: ${uncaught.length}`);
    // 3.4.10 threw "TypeError: Cannot read properties of null (reading 'write')" here, once per transaction.
    expect(uncaught).toEqual([]);
    // A killed backend (57P01, class 57) is a lost connection; never an untyped driver error, never a hang.
    for (const outcome of outcomes)
      expect(["HDK_CONNECTION_LOST", "HDK_POSTGRES_CONNECTION_CLOSED", "HDK_CONNECT_REFUSED"]).toContain(outcome);
    expect(await noConnectionsLeft()).toBe(0);
  });
});

/**
 * Runs `work` noting what microtask callbacks throw (Postgres.js 3's `setImmediate` is a `queueMicrotask`): such a
 * throw is an uncaught exception the runtime logs, and no promise of the request sees it.
 */
async function noteUncaught<T>(work: () => Promise<T>): Promise<{ result: T; uncaught: string[] }> {
  const uncaught: string[] = [];
  const original = globalThis.queueMicrotask;
  globalThis.queueMicrotask = (callback) =>
    original(() => {
      try {
        callback();
      } catch (error) {
        uncaught.push(String(error));
      }
    });
  try {
    return { result: await work(), uncaught };
  } finally {
    globalThis.queueMicrotask = original;
  }
}

/**
 * Runs `work` on a handle of its own `times` times, each expected to fail, noting what goes uncaught meanwhile.
 * Each outcome is the error's code, else its message.
 */
async function failuresNotingUncaught(
  times: number,
  work: (sql: Sql, i: number) => Promise<unknown>,
): Promise<{ outcomes: string[]; uncaught: string[] }> {
  const { result: outcomes, uncaught } = await noteUncaught(async () => {
    const outcomes: string[] = [];
    for (let i = 0; i < times; i++) {
      const ctx = createExecutionContext();
      const error = await failure(() => withHyperdrive(env, ctx, (sql) => work(sql, i), { binding: "VIA_PROXY" }));
      await waitOnExecutionContext(ctx);
      outcomes.push(String(error.code ?? error.message ?? error));
    }
    return outcomes;
  });
  return { outcomes, uncaught };
}

describe("Postgres.js: nothing is written to a connection that closed (issue 32: item 6, the soak's paths)", () => {
  const reset = () =>
    fetch(`${inject("controlUrl")}/proxy/mode`, {
      method: "POST",
      body: JSON.stringify({ mode: { kind: "pass" }, resetAll: true }),
    });
  const kill = async (pid: number) => {
    const ctx = createExecutionContext();
    await withHyperdrive(env, ctx, (sql) => sql`select pg_terminate_backend(${pid})`);
    await waitOnExecutionContext(ctx);
  };
  const ROLLBACK = Symbol("rollback");
  const shapes: Record<string, (error: unknown) => unknown> = {
    // Kysely's dialect: its rollback makes the callback's `await` throw its own reason.
    "rejects with its own reason (Kysely's rollback)": () => {
      throw ROLLBACK;
    },
    "rethrows a wrapped error": (error) => {
      throw new Error("the app's own error", { cause: error });
    },
    "catches and resolves": () => "caught",
  };
  for (const [name, after] of Object.entries(shapes)) {
    for (const fault of ["kill", "reset"] as const) {
      it(`a callback that ${name} after a ${fault}`, async () => {
        const { outcomes, uncaught } = await failuresNotingUncaught(4, (sql, i) =>
          sql.begin(async (tx) => {
            const [row] = await tx`select pg_backend_pid() as pid`;
            const running = tx`select pg_sleep(5)`;
            setTimeout(() => void (fault === "kill" ? kill(Number(row?.pid)) : reset()), 100 + i * 20);
            try {
              await running;
            } catch (error) {
              return after(error);
            }
          }),
        );
        console.log(`[write] ${name} after ${fault}: ${outcomes.join(", ")}; uncaught: ${uncaught.join(" | ")}`);
        expect(uncaught).toEqual([]);
        expect(await noConnectionsLeft()).toBe(0);
      });
    }
  }

  it("a savepoint's callback that rethrows after its connection was reset", async () => {
    const { outcomes, uncaught } = await failuresNotingUncaught(3, (sql) =>
      sql.begin((tx) =>
        tx.savepoint(async (sp) => {
          const running = sp`select pg_sleep(5)`;
          setTimeout(() => void reset(), 100);
          try {
            await running;
          } catch (error) {
            throw new Error("the app's own error", { cause: error });
          }
        }),
      ),
    );
    console.log(`[write] savepoint after a reset: ${outcomes.join(", ")}; uncaught: ${uncaught.join(" | ")}`);
    expect(uncaught).toEqual([]);
    expect(await noConnectionsLeft()).toBe(0);
  });

  // Not contained (README, "A transaction whose connection dies"): a query the callback itself starts after the
  // connection closed goes to the driver, which writes it to the socket it dropped. This pins the driver's behaviour,
  // so the README changes when a release fixes it.
  it("a query the callback starts after its connection was reset: the transaction rejects typed (3.x: the driver throws)", async () => {
    const { outcomes, uncaught } = await failuresNotingUncaught(2, (sql) =>
      sql.begin(async (tx) => {
        const running = tx`select pg_sleep(5)`;
        setTimeout(() => void reset(), 100);
        await running.catch(() => {});
        await tx`select 1`;
      }),
    );
    console.log(`[write] a query after the reset: ${outcomes.join(", ")}; uncaught: ${uncaught.join(" | ")}`);
    expect(outcomes).toEqual(["HDK_POSTGRES_CONNECTION_CLOSED", "HDK_POSTGRES_CONNECTION_CLOSED"]);
    const thrown = POSTGRES_JS_MAJOR === 3 ? ["TypeError: Cannot read properties of null (reading 'write')"] : [];
    expect(uncaught).toEqual([...thrown, ...thrown]);
  });

  // Postgres.js 3.4.10 never settles this query (its write to the socket it dropped throws instead): the bound
  // (`queryTimeoutMs`) must not rely on the driver failing it when its socket dies. 4.x fails it at once. What ran
  // first may fail either way (the reset, or the bound if the reset comes late).
  it("a query on a reserve() connection after a reset rejects typed (3.x: HDK_TIMEOUT by queryTimeoutMs), not never", async () => {
    const codes: string[] = [];
    await noteUncaught(async () => {
      const ctx = createExecutionContext();
      await withHyperdrive(
        env,
        ctx,
        async (sql) => {
          const reserved = await sql.reserve();
          const running = reserved`select pg_sleep(5)`;
          setTimeout(() => void reset(), 100);
          await running.catch(() => {});
          codes.push(String((await failure(() => reserved`select 1`)).code));
          reserved.release();
        },
        { binding: "VIA_PROXY", queryTimeoutMs: 3000 },
      );
      await waitOnExecutionContext(ctx);
    });
    expect(codes).toEqual([POSTGRES_JS_MAJOR === 3 ? "HDK_TIMEOUT" : "HDK_POSTGRES_CONNECTION_CLOSED"]);
    expect(await noConnectionsLeft()).toBe(0);
  });

  it("a cursor left early (its loop threw) after its connection was reset between two reads", async () => {
    const { outcomes, uncaught } = await failuresNotingUncaught(3, async (sql) => {
      for await (const _batch of sql`select generate_series(1, 100000) as n`.cursor(100)) {
        await reset();
        await eventually(connections, (n) => n === 0);
        // The loop ends before its next read: `for await` calls the iterator's return().
        throw new Error("the loop's own error");
      }
    });
    console.log(`[write] cursor left after a reset: ${outcomes.join(", ")}; uncaught: ${uncaught.join(" | ")}`);
    expect(uncaught).toEqual([]);
    expect(outcomes).toEqual(Array(3).fill("the loop's own error"));
  });
});

/** Fails a test fast instead of at its 60 s timeout when `work` hangs (what these tests guard against). */
function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms);
  });
  return Promise.race([work, hung]).finally(() => clearTimeout(timer));
}

/** Until the server holds none of the test's connections (a connection closed by teardown goes away shortly). */
const noConnectionsLeft = () => eventually(connections, (n) => n === 0);

describe("Postgres.js reserve() as the first call (porsager/postgres#1203)", () => {
  const bounded = { queryTimeoutMs: 2000, connectTimeoutMs: 2000 };

  it("resolves with a working connection, releases it, and leaves nothing on the server", async () => {
    const ctx = createExecutionContext();
    const result = await within(
      8000,
      withHyperdrive(
        env,
        ctx,
        async (sql) => {
          const reserved = await sql.reserve();
          const [first] = await reserved`select pg_backend_pid() as pid`;
          const [second] = await reserved`select pg_backend_pid() as pid, ${41} + 1 as answer`;
          reserved.release();
          // The released connection serves the handle again.
          const [after] = await sql`select 1 as one`;
          return { same: first?.pid === second?.pid, answer: second?.answer, after };
        },
        bounded,
      ),
    );
    await waitOnExecutionContext(ctx);
    expect(result).toEqual({ same: true, answer: 42, after: { one: 1 } });
    expect(await noConnectionsLeft()).toBe(0);
  });

  it("serves several reserve() calls at once on a fresh handle", async () => {
    const ctx = createExecutionContext();
    const events: HyperdriveEvent[] = [];
    const pids = await within(
      8000,
      withHyperdrive(
        env,
        ctx,
        async (sql) =>
          Promise.all(
            [1, 2, 3].map(async () => {
              const reserved = await sql.reserve();
              const [row] = await reserved`select pg_backend_pid() as pid`;
              reserved.release();
              return row?.pid;
            }),
          ),
        { ...bounded, onEvent: (event) => events.push(event) },
      ),
    );
    await waitOnExecutionContext(ctx);
    expect(events.filter((event) => event.type === "teardown").map((event) => event.outcome)).toEqual(["closed"]);
    expect(pids).toHaveLength(3);
    expect(await noConnectionsLeft()).toBe(0);
  });

  it("reserves while the handle's other connections are busy", async () => {
    const ctx = createExecutionContext();
    const result = await within(
      8000,
      withHyperdrive(
        env,
        ctx,
        async (sql) => {
          const busy = sql`select pg_sleep(0.3)`.then(() => "slept");
          const reserved = await sql.reserve();
          const [row] = await reserved`select 1 as one`;
          reserved.release();
          return [row, await busy];
        },
        bounded,
      ),
    );
    await waitOnExecutionContext(ctx);
    expect(result).toEqual([{ one: 1 }, "slept"]);
    expect(await noConnectionsLeft()).toBe(0);
  });

  it("closes a reserved connection the callback never released", async () => {
    const ctx = createExecutionContext();
    const events: HyperdriveEvent[] = [];
    const row = await within(
      8000,
      withHyperdrive(
        env,
        ctx,
        async (sql) => {
          const reserved = await sql.reserve();
          return (await reserved`select 1 as one`)[0];
        },
        { ...bounded, onEvent: (event) => events.push(event) },
      ),
    );
    await waitOnExecutionContext(ctx);
    expect(row).toEqual({ one: 1 });
    expect(events.filter((event) => event.type === "teardown").map((event) => event.outcome)).toEqual(["closed"]);
    expect(await noConnectionsLeft()).toBe(0);
  });
});

describe("Postgres.js transactions under Hyperdrive's own errors (58000)", () => {
  // The fake origin answers every statement, BEGIN included, with Hyperdrive's pool error.
  const fakeOrigin = { binding: "FAKE_ORIGIN", queryTimeoutMs: 3000 };

  it("maps a failed BEGIN to HDK_HYPERDRIVE_POOL_EXHAUSTED, as a plain query is", async () => {
    const ctx = createExecutionContext();
    let ran = false;
    const events: HyperdriveEvent[] = [];
    const plain = await failure(() => withHyperdrive(env, ctx, (sql) => sql`select 1`, fakeOrigin));
    const inBegin = await failure(() =>
      withHyperdrive(
        env,
        ctx,
        (sql) =>
          sql.begin(async (tx) => {
            ran = true;
            return tx`select pg_sleep(2)`;
          }),
        { ...fakeOrigin, onEvent: (event) => events.push(event) },
      ),
    );
    const withMode = await failure(() =>
      withHyperdrive(env, ctx, (sql) => sql.begin("read write", (tx) => tx`select 1`), fakeOrigin),
    );
    await waitOnExecutionContext(ctx);
    expect(plain.code).toBe("HDK_HYPERDRIVE_POOL_EXHAUSTED");
    expect(isHyperdriveError(inBegin)).toBe(true);
    expect(inBegin.code).toBe("HDK_HYPERDRIVE_POOL_EXHAUSTED");
    expect(inBegin.message).toContain("Failed to acquire a connection from the pool.");
    expect((inBegin.cause as { code?: string }).code).toBe("58000");
    // Reported like a query's error: one `error` event with the same typed error.
    expect(events.filter((event) => event.type === "error").map((event) => event.error)).toEqual([inBegin]);
    expect(withMode.code).toBe("HDK_HYPERDRIVE_POOL_EXHAUSTED");
    expect(ran).toBe(false);
  });

  it("maps it on reserve()'s connection", async () => {
    const ctx = createExecutionContext();
    const error = await failure(() =>
      within(
        8000,
        withHyperdrive(
          env,
          ctx,
          async (sql) => {
            const reserved = await sql.reserve();
            try {
              return await reserved`select 1`;
            } finally {
              reserved.release();
            }
          },
          fakeOrigin,
        ),
      ),
    );
    await waitOnExecutionContext(ctx);
    expect(error.code).toBe("HDK_HYPERDRIVE_POOL_EXHAUSTED");
  });

  it("still passes the database's own errors in a transaction and a savepoint through unchanged", async () => {
    const ctx = createExecutionContext();
    const inTx = await failure(() =>
      withHyperdrive(env, ctx, (sql) => sql.begin((tx) => tx`select * from no_such_table`)),
    );
    const inSavepoint = await failure(() =>
      withHyperdrive(env, ctx, (sql) =>
        sql.begin((tx) => tx.savepoint((savepoint) => savepoint`select * from no_such_table`)),
      ),
    );
    const committed = await withHyperdrive(env, ctx, (sql) =>
      sql.begin(async (tx) => [
        (await tx`select 1 as one`)[0],
        await tx.savepoint(async (s) => (await s`select 2 as two`)[0]),
      ]),
    );
    await waitOnExecutionContext(ctx);
    expect([inTx.name, inTx.code]).toEqual(["PostgresError", "42P01"]);
    expect([inSavepoint.name, inSavepoint.code]).toEqual(["PostgresError", "42P01"]);
    expect(committed).toEqual([{ one: 1 }, { two: 2 }]);
  });

  it("reports a transaction's queries, not the transaction, as query events", async () => {
    const ctx = createExecutionContext();
    const events: HyperdriveEvent[] = [];
    await withHyperdrive(env, ctx, (sql) => sql.begin((tx) => tx`select 1`), {
      onEvent: (event) => events.push(event),
    });
    await waitOnExecutionContext(ctx);
    const queries = events.flatMap((event) => (event.type === "query" ? [event] : []));
    expect(queries).toHaveLength(1);
    // It used to report begin() with the transaction's `sql` as its error.
    expect(queries[0]?.error).toBeUndefined();
  });
});

describe("Postgres.js 4's user-visible changes and new entry points (issue 34)", () => {
  it("types a parameter as the server decides on 4.x: a true parameter selected back is the text 'true'", async () => {
    const ctx = createExecutionContext();
    const row = await withHyperdrive(env, ctx, async (sql) => (await sql`select ${true} as x`)[0]);
    await waitOnExecutionContext(ctx);
    expect(row).toEqual({ x: POSTGRES_JS_MAJOR === 4 ? "true" : true });
  });

  it("has no sql.array() on 4.x: its error reads as HDK_POSTGRES_ARRAY_REMOVED", async () => {
    const ctx = createExecutionContext();
    const outcome = await withHyperdrive(env, ctx, async (sql) => {
      try {
        sql.array([1, 2]);
        return "kept";
      } catch (error) {
        return findHyperdriveError(error)?.code;
      }
    });
    await waitOnExecutionContext(ctx);
    expect(outcome).toBe(POSTGRES_JS_MAJOR === 4 ? "HDK_POSTGRES_ARRAY_REMOVED" : "kept");
  });

  it("refuses min above 0 unless allowed", async () => {
    const ctx = createExecutionContext();
    const refused = await failure(() =>
      withHyperdrive(env, ctx, async () => 1, { client: { min: 2 } as PostgresClientOptions }),
    );
    const allowed = await withHyperdrive(env, ctx, async (sql) => (await sql`select 1 as one`)[0], {
      client: { min: 1 } as PostgresClientOptions,
      allowUnsafe: ["min"],
    });
    await waitOnExecutionContext(ctx);
    expect(refused.code).toBe("HDK_UNSAFE_OPTION");
    expect(refused.message).toContain("`min: 2`");
    expect(allowed).toEqual({ one: 1 });
    expect(await noConnectionsLeft()).toBe(0);
  });

  it("guards sql.close() and Symbol.asyncDispose like sql.end(), where the driver has them", async () => {
    type Closable = Sql & { close?(): Promise<unknown>; [Symbol.asyncDispose]?(): Promise<unknown> };
    const ctx = createExecutionContext();
    let kept: Closable | undefined;
    const answered = await withHyperdrive(env, ctx, async (sql) => {
      const handle = sql as Closable;
      kept = handle;
      await handle`select 1`;
      // Closes the connections; the handle opens a new one for the next query.
      await handle.close?.();
      const [row] = await handle`select 2 as two`;
      await handle[Symbol.asyncDispose]?.();
      return row;
    });
    await waitOnExecutionContext(ctx);
    expect(answered).toEqual({ two: 2 });
    // 4.x has both; 3.4.x has `close` only (no `Symbol.asyncDispose`).
    const present = [typeof kept?.close, typeof kept?.[Symbol.asyncDispose]];
    expect(present).toEqual(POSTGRES_JS_MAJOR === 4 ? ["function", "function"] : ["function", "undefined"]);
    const closed = await failure(async () => kept?.close?.());
    expect(closed.code).toBe("HDK_HANDLE_AFTER_TEARDOWN");
    if (POSTGRES_JS_MAJOR === 4) {
      const disposed = await failure(async () => kept?.[Symbol.asyncDispose]?.());
      expect(disposed.code).toBe("HDK_HANDLE_AFTER_TEARDOWN");
    }
    expect(await noConnectionsLeft()).toBe(0);
  });
});

describe("Postgres.js connections the pool opened and no longer needs", () => {
  it("ends them with a Terminate at teardown: workerd reports no rejection, nothing is left on the server", async () => {
    // What workerd reports, uncatchable, for a socket closed while its read is pending (runtime-socket-loss.ts).
    const rejections: string[] = [];
    const onRejection = (event: PromiseRejectionEvent) => {
      rejections.push(event.reason instanceof Error ? event.reason.message : String(event.reason));
    };
    addEventListener("unhandledrejection", onRejection);
    let connects = 0;
    try {
      // Parallel queries make the pool open more connections; the queries often finish on the first one before
      // those have started up, and teardown then finds them still starting.
      for (let i = 0; i < 5; i++) {
        const ctx = createExecutionContext();
        const rows = await withHyperdrive(
          env,
          ctx,
          async (sql) => {
            await sql`select 1 as one`;
            return Promise.all([1, 2, 3].map(async (n) => (await sql`select ${n}::int as n`)[0]?.n));
          },
          { onEvent: (event) => void (event.type === "connect" && connects++) },
        );
        await waitOnExecutionContext(ctx);
        expect(rows).toEqual([1, 2, 3]);
      }
      expect(await noConnectionsLeft()).toBe(0);
    } finally {
      removeEventListener("unhandledrejection", onRejection);
    }
    console.log(`[late connections] Postgres.js ${POSTGRES_JS_MAJOR}: ${connects} connections for 5 requests`);
    // Postgres.js 4 destroyed such a connection as its startup ended (pool.js `opened()`): "Stream was cancelled.",
    // about once per request here; in a Workflow whose run() had returned, it kept the vitest run from ending.
    expect(rejections).toEqual([]);
  });
});

describe("Postgres.js versions", () => {
  it("tells 3.4.x and 4.x apart, and anything else as unsupported", () => {
    // 4.x's `sql` has `batch()` and `identifier()`; 3.4.x has `reserve()` and neither; 2.x has no `reserve()`.
    const shape = (...methods: string[]) =>
      Object.assign(() => {}, Object.fromEntries(methods.map((name) => [name, () => {}])));
    expect(driverMajor(shape("begin", "reserve"))).toBe(3);
    expect(driverMajor(shape("begin", "reserve", "batch", "identifier"))).toBe(4);
    expect(driverMajor(shape("begin"))).toBeUndefined();
    expect(driverMajor(shape("begin", "reserve", "batch"))).toBeUndefined();
    // The installed one (3.4.x or 4.x, per the run) is supported.
    expect(driverMajor(postgres({ fetch_types: false }))).toBe(POSTGRES_JS_MAJOR);
  });

  it("gives an unsupported driver its own code, not a misspelt option's", () => {
    const refused = unsupportedDriver();
    expect(refused.code).toBe("HDK_DRIVER_UNSUPPORTED");
    expect(refused.message).toContain(">=3.4.5 <5");
    // The fix names what to do (code that shows only `fix`, such as Hono's `exposeFix`, reads this).
    expect(refused.fix).toMatch(/^Install a supported Postgres\.js \(`npm i postgres@4`/);
  });
});
