/**
 * The README's streaming snippet (`.stream()` read from a `ReadableStream`'s `pull`, after the callback returned),
 * as a route the three drivers' Workers add to the conformance Worker, and the tests that read it through
 * `exports`, whose body the runtime reads natively, as it sends a response.
 */
import { exports } from "cloudflare:workers";
import type { HyperdriveEvent } from "@hyperdrive-kit/core";
import { eventually } from "@hyperdrive-kit/testing/suite";
import type { Kysely } from "kysely";
import { expect, it } from "vitest";

// biome-ignore lint/suspicious/noExplicitAny: any database
type Db = Kysely<any>;
type Run = (
  env: unknown,
  ctx: ExecutionContext,
  fn: (db: Db) => Promise<Response>,
  options: Record<string, unknown>,
) => Promise<Response>;
/** A route of the Worker's own: answers a path it knows, `undefined` for the others. */
export type Route = (
  url: URL,
  env: unknown,
  ctx: ExecutionContext,
  onEvent: (event: HyperdriveEvent) => void,
) => Promise<Response> | undefined;

export const TABLE = "kysely_body_stream";
export const ROWS = 20;

/** What the routes logged (teardown events, how the body ended), per request, until `/body-stream/log` reads it. */
const log: string[] = [];
const onEvent = (event: HyperdriveEvent) => {
  if (event.type === "teardown") log.push(`teardown:${event.outcome}`);
  if (event.type === "error") log.push(`error:${event.error.code}`);
};
export const note = (entry: string) => log.push(entry);

/** Lines of JSON, one per row of `next()`, read in the body's `pull`: the README's snippet. */
export function ndjson(
  next: () => Promise<IteratorResult<unknown>>,
  stop: () => Promise<unknown>,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { value, done } = await next();
      if (done) controller.close();
      else controller.enqueue(encoder.encode(`${JSON.stringify(value)}\n`));
    },
    async cancel() {
      await stop();
      note("cancelled");
    },
  });
}

/** The conformance Worker with `/body-stream…` routes on `run` (a `withKysely`), and the driver's own `routes`. */
export function withBodyStream(
  worker: ExportedHandler<Record<string, unknown>>,
  run: Run,
  options: Record<string, unknown> = {},
  routes: Route = () => undefined,
): ExportedHandler<Record<string, unknown>> {
  return {
    fetch(request, env, ctx) {
      const url = new URL(request.url);
      switch (url.pathname) {
        case "/body-stream/seed":
          return run(
            env,
            ctx,
            async (db) => {
              await db.schema.dropTable(TABLE).ifExists().execute();
              await db.schema
                .createTable(TABLE)
                .addColumn("id", "integer", (c) => c.primaryKey())
                .execute();
              await db
                .insertInto(TABLE)
                .values(Array.from({ length: ROWS }, (_, i) => ({ id: i + 1 })))
                .execute();
              return new Response("seeded");
            },
            options,
          );
        case "/body-stream/log":
          return Promise.resolve(Response.json(log.splice(0)));
        case "/body-stream": {
          const chunk = Number(url.searchParams.get("chunk"));
          return run(
            env,
            ctx,
            async (db) => {
              const rows = db.selectFrom(TABLE).select("id").orderBy("id").stream(chunk)[Symbol.asyncIterator]();
              return new Response(
                ndjson(
                  () => rows.next(),
                  async () => rows.return?.(undefined),
                ),
                { headers: { "content-type": "application/x-ndjson" } },
              );
            },
            { ...options, onEvent },
          );
        }
      }
      return (
        routes(url, env, ctx, onEvent) ?? (worker.fetch as NonNullable<typeof worker.fetch>)(request as never, env, ctx)
      );
    },
  };
}

const send = (path: string) => (exports as unknown as { default: Fetcher }).default.fetch(`http://test${path}`);
const json = async (path: string) => (await send(path)).json();

/** The log of one request, once its teardown has run (or after 10 s). */
async function logOf(): Promise<string[]> {
  const seen: string[] = [];
  return eventually(
    async () => {
      seen.push(...((await json("/body-stream/log")) as string[]));
      return [...seen];
    },
    (entries) => entries.some((entry) => entry.startsWith("teardown")),
  );
}

const connections = async () => ((await json("/connections")) as { n: number }).n;
const unhandled = async () => ((await json("/unhandled")) as { total: number }).total;

/**
 * `path` (a body that reads ROWS rows, `chunk` at a time, from its `pull`) sends every row, then tears down and
 * leaves no connection; cancelled after its first row, it still closes its connection at teardown, at once.
 */
export function describeBodyStream(path = "/body-stream"): void {
  it("seeds the rows", async () => {
    expect(await (await send("/body-stream/seed")).text()).toBe("seeded");
  });

  for (const chunk of [3, 100]) {
    it(`streams all ${ROWS} rows from the body after the callback returned, ${chunk} per read, then tears down`, async () => {
      const before = await unhandled();
      await json("/body-stream/log");
      const text = new TextDecoder().decode(await (await send(`${path}?chunk=${chunk}`)).arrayBuffer());
      const ids = text
        .trim()
        .split("\n")
        .map((line) => (JSON.parse(line) as { id: number }).id);
      expect(ids).toEqual(Array.from({ length: ROWS }, (_, i) => i + 1));
      expect(await logOf()).toEqual(["teardown:closed"]);
      expect(await eventually(connections, (n) => n === 0)).toBe(0);
      expect(await unhandled()).toBe(before);
    });
  }

  it("closes the connection at teardown when the client cancels the body after its first row", async () => {
    await json("/body-stream/log");
    const reader = (await send(`${path}?chunk=3`)).body?.getReader();
    const first = await reader?.read();
    expect(new TextDecoder().decode(first?.value)).toBe('{"id":1}\n');
    await reader?.cancel();
    // Within the teardown timeout (5 s): the body's cancel released the cursor's connection, teardown closed it.
    const started = Date.now();
    expect(await logOf()).toEqual(["cancelled", "teardown:closed"]);
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(await eventually(connections, (n) => n === 0)).toBe(0);
  });
}
