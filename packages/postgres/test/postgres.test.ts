import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describeFaults, postgresJsFaultExpectations } from "@hyperdrive-kit/testing/faults";
import { connections, describeConformance, failure } from "@hyperdrive-kit/testing/suite";
import { describe, expect, inject, it } from "vitest";
import { type HyperdriveEvent, withHyperdrive } from "../src/index.ts";

/** The fault control server of the test setup (stops and starts the database). */
const control = async (path: string) => {
  const response = await fetch(`${inject("controlUrl")}${path}`, { method: "POST", body: "{}" });
  if (!response.ok) throw new Error(`control ${path}: ${response.status}`);
};

describe("Postgres.js", () => {
  describeConformance();
  describe("under real faults", () => describeFaults(postgresJsFaultExpectations));
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
    try {
      // The body errors (or ends) once the connection is gone; either way the stream is over.
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read());
    } catch {}
    try {
      await waitOnExecutionContext(ctx);
    } finally {
      await control("/server/resume");
    }
    expect(teardowns(events)).toEqual(["closed"]);
  });
});
