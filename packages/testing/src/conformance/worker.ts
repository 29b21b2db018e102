/**
 * The Worker every adapter's conformance tests run against, inside workerd. Each route exercises one rule of the
 * request scope; the test file (`suite.ts`) calls them through real, separate requests.
 */
import { type HyperdriveEvent, isHyperdriveError, type RequestScope } from "@hyperdrive-kit/core";

export type Rows = Array<Record<string, unknown>>;

export interface ConformanceDriver<Db> {
  /** Runs `withHyperdrive` of the adapter under test. */
  withHyperdrive(
    env: unknown,
    ctx: ExecutionContext,
    fn: (db: Db, scope: RequestScope) => Promise<Response>,
    options?: Record<string, unknown>,
  ): Promise<Response>;
  /** Runs one statement and returns its rows. */
  query(db: Db, text: string): Promise<Rows>;
  /** Counts the other client connections to the test database, as the server sees them. */
  countConnectionsSql: string;
  /** A statement that answers after `seconds` seconds. */
  sleepSql(seconds: number): string;
}

interface State {
  stash: unknown;
  /** Events and stream chunks, in the order they happened. */
  log: string[];
}

const state: State = { stash: undefined, log: [] };
const record = (event: HyperdriveEvent) => {
  const outcome =
    event.type === "teardown" ? `:${event.outcome}` : event.type === "error" ? `:${event.error.code}` : "";
  state.log.push(`${event.type}${outcome}`);
};

function errorJson(error: unknown, started: number): Response {
  return Response.json({
    code: isHyperdriveError(error) ? error.code : undefined,
    name: error instanceof Error ? error.name : typeof error,
    message: error instanceof Error ? error.message : String(error),
    ms: Date.now() - started,
  });
}

export function createConformanceWorker<Db>(driver: ConformanceDriver<Db>): ExportedHandler<Record<string, unknown>> {
  const one = async (db: Db) => (await driver.query(db, "select 1 as one"))[0]?.one;
  return {
    async fetch(request, env, ctx) {
      const url = new URL(request.url);
      const started = Date.now();
      const options = { onEvent: record, ...JSON.parse(url.searchParams.get("options") ?? "{}") };
      try {
        switch (url.pathname) {
          case "/query":
            return await driver.withHyperdrive(env, ctx, async (db) => Response.json({ one: await one(db) }), options);
          case "/connections": {
            // Through the ADMIN binding, so the count never includes a handle of the routes above.
            return await driver.withHyperdrive(
              env,
              ctx,
              async (db) => Response.json({ n: Number((await driver.query(db, driver.countConnectionsSql))[0]?.n) }),
              { binding: "ADMIN" },
            );
          }
          case "/stash":
            return await driver.withHyperdrive(
              env,
              ctx,
              async (db) => {
                state.stash = db;
                return Response.json({ one: await one(db) });
              },
              options,
            );
          case "/reuse":
            // A later request using a handle kept in a global variable, outside any scope.
            return Response.json({ one: await one(state.stash as Db) });
          case "/reuse-in-scope":
            // A later request that has its own scope and still reaches for the old handle.
            return await driver.withHyperdrive(
              env,
              ctx,
              async () => Response.json({ one: await one(state.stash as Db) }),
              options,
            );
          case "/after-teardown": {
            let kept: Db | undefined;
            let scope: RequestScope | undefined;
            const response = await driver.withHyperdrive(
              env,
              ctx,
              async (db, s) => {
                kept = db;
                scope = s;
                return Response.json({ one: await one(db) });
              },
              options,
            );
            await response.text(); // teardown waits for the body to be consumed
            await scope?.closed;
            return Response.json({ one: await one(kept as Db), state: scope?.state });
          }
          case "/stream":
            return await driver.withHyperdrive(
              env,
              ctx,
              async (db) => {
                let i = 0;
                const encoder = new TextEncoder();
                const body = new ReadableStream<Uint8Array>({
                  async pull(controller) {
                    // Each chunk queries after the callback has returned: the scope must still be open.
                    const rows = await driver.query(db, `select ${i} as i`);
                    controller.enqueue(encoder.encode(`${JSON.stringify(rows[0])}\n`));
                    state.log.push(`chunk:${i}`);
                    if (++i === 3) controller.close();
                  },
                });
                return new Response(body, { headers: { "content-type": "text/plain; charset=utf-8" } });
              },
              options,
            );
          case "/log":
            return Response.json(state.log.splice(0));
          default:
            return new Response("not found", { status: 404 });
        }
      } catch (error) {
        return errorJson(error, started);
      }
    },
  };
}
