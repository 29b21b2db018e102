/**
 * The Worker every adapter's conformance tests run against, inside workerd. Each route exercises one rule of the
 * request scope; the test file (`suite.ts`) calls them through real, separate requests.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import {
  catalog,
  classify,
  findHyperdriveError,
  type HyperdriveError,
  type HyperdriveEvent,
  isHyperdriveError,
} from "@hyperdrive-kit/core";
import { openScope, type RequestScope } from "@hyperdrive-kit/core/adapter";
import { createHandlerKindClasses, type KindOrder, kindCases, reportOf, teardownsOf } from "./handler-kinds.ts";
import { isRuntimeSocketLoss } from "./runtime-socket-loss.ts";

export type Rows = Array<Record<string, unknown>>;

export interface ConformanceDriver<Db> {
  /** Runs `withHyperdrive` of the adapter under test. */
  withHyperdrive(
    env: unknown,
    ctx: ExecutionContext,
    fn: (db: Db, scope: RequestScope) => Promise<Response>,
    options?: Record<string, unknown>,
  ): Promise<Response>;
  /** Puts the adapter's handle on a scope the caller manages (`attach` with the adapter of the mode in `options`). */
  attach(scope: RequestScope, env: unknown, options: Record<string, unknown>): Db;
  /** Runs one statement and returns its rows. */
  query(db: Db, text: string): Promise<Rows>;
  /**
   * The driver's own query call as user code writes it (`db.query(text)`), returning what the driver returns, not
   * wrapped in an async function (which would turn a synchronous throw into a rejection): the suite checks that a
   * misused handle rejects instead of throwing. A callback-only API (mysql) makes its promise from the callback,
   * calling the driver outside the promise's executor. Integrations whose `query` is the ORM's own call may leave it
   * out: `query` is used.
   */
  rawQuery?(db: Db, text: string): unknown;
  /**
   * Reads the rows of `text` through the driver's row stream or cursor (pg-cursor, Postgres.js `cursor()`, mysql's and
   * mysql2's `query().stream()`, an ORM's `stream()`) at the reader's pace: `each` is awaited for every row. Resolves
   * when the stream ends, rejects with its error. Drivers without one leave it out.
   */
  streamRows?(db: Db, text: string, each: (row: Record<string, unknown>) => Promise<void>): Promise<void>;
  /** A statement that returns `count` rows, each with a `width`-character text column. */
  rowsSql(count: number, width: number): string;
  /** Counts the other client connections to the test database, as the server sees them. */
  countConnectionsSql: string;
  /** A statement that answers after `seconds` seconds. */
  sleepSql(seconds: number): string;
  /** A statement that returns the server's id of the connection running it, as column `id`. */
  backendIdSql: string;
  /** A statement that ends the connection with server id `id` (run from another connection). */
  killSql(id: number): string;
  /**
   * Counts the sessions (other than the one asking) running the statement of `sleepSql`, as column `n`; with `id`,
   * only the session with that server id. Fault tests wait for it so that the fault lands on a query in flight.
   */
  sleepingSql(id?: number): string;
  /**
   * Objects the handle gives out that can reach a socket (a pool's client, a transaction's `sql`, a cursor), by
   * name: how to get one inside a request, and how to use it. The suite keeps each past its request and checks
   * that using it fails at once with the scope's typed error.
   */
  derived?(options: Record<string, unknown>): Record<string, DerivedObject<Db>>;
  /**
   * Runs `body` in one transaction on the handle (where `begin`/`commit` statements on the handle itself would not
   * hold one connection: a pool). Default: `begin`, the body, `commit` on the handle.
   */
  transaction?(db: Db, body: (query: (text: string) => Promise<Rows>) => Promise<unknown>): Promise<unknown>;
}

export interface DerivedObject<Db> {
  /**
   * Gets the object from the handle inside the request, uses it there (it must work) and gives it to `keep`, then
   * lets go of what it holds (releases a pool's client), as correct code does.
   */
  make(db: Db, keep: (object: unknown) => void): Promise<void>;
  /** Uses a kept object: must run a query (or another I/O) on it. */
  use(object: unknown): Promise<unknown>;
}

interface State {
  stash: unknown;
  /** Objects kept by `/derived/stash`, by name. */
  derived: Map<string, unknown>;
  /** Events and stream chunks, in the order they happened. */
  /** Each entry with the id of the request it belongs to (teardown runs after the response, in its request's context). */
  log: Array<{ request: number; entry: string }>;
  /**
   * Everything the library let out, for the redaction tests: each error in every form a user could print or ship
   * (message, stack, toString, JSON, own properties, the whole cause chain), every event as JSON, every console line.
   */
  outputs: string[];
  /** Unhandled promise rejections in this isolate that nothing marked handled, since the last `/unhandled`. */
  unhandled: string[];
  /** All of them, over the isolate's life. */
  unhandledTotal: number;
  /** workerd's own rejections on a peer reset, which no code can observe (see runtime-socket-loss.ts). */
  runtimeSocketLoss: number;
}

/** What the work a request handed to `ctx.waitUntil` ended in (`/late-query`), by token. */
const lateOutcomes = new Map<string, string>();

const state: State = {
  stash: undefined,
  derived: new Map(),
  log: [],
  outputs: [],
  unhandled: [],
  unhandledTotal: 0,
  runtimeSocketLoss: 0,
};
/** The id of the request whose async context is running (events and chunks inherit it). */
const requests = new AsyncLocalStorage<number>();
let lastRequest = 0;
const logEntry = (entry: string) => state.log.push({ request: requests.getStore() ?? 0, entry });

const record = (event: HyperdriveEvent) => {
  const outcome =
    event.type === "teardown" ? `:${event.outcome}` : event.type === "error" ? `:${event.error.code}` : "";
  logEntry(`${event.type}${outcome}`);
  state.outputs.push(json(event));
};

/** JSON that survives cycles and throwing getters: what a logger would ship. */
function json(value: unknown): string {
  const seen = new WeakSet<object>();
  try {
    return (
      JSON.stringify(value, (_key, v: unknown) => {
        if (typeof v === "bigint") return v.toString();
        if (typeof v !== "object" || v === null) return v;
        if (seen.has(v)) return "[cycle]";
        seen.add(v);
        return v;
      }) ?? ""
    );
  } catch (error) {
    return `[unserializable: ${String(error)}]`;
  }
}

/** Every form of `error` and of each error in its cause chain. */
function renderings(error: unknown): string[] {
  const out: string[] = [];
  const seen = new Set<unknown>();
  for (let current = error; current != null && !seen.has(current) && seen.size < 10; ) {
    seen.add(current);
    out.push(String(current), json(current));
    if (typeof current === "object") {
      const own = Object.fromEntries(
        Object.getOwnPropertyNames(current).map((key) => [key, Reflect.get(current as object, key)]),
      );
      out.push(json(own));
    }
    current = (current as { cause?: unknown }).cause;
  }
  return out;
}

/** The HyperdriveError itself, or the one an ORM wrapped (Drizzle's `DrizzleQueryError` keeps it as `cause`). */
function hyperdriveErrorIn(error: unknown): HyperdriveError | undefined {
  for (let link = error, depth = 0; link != null && depth < 8; depth++) {
    if (isHyperdriveError(link)) return link;
    link = typeof link === "object" ? (link as { cause?: unknown }).cause : undefined;
  }
  return undefined;
}

/**
 * The catalogue error behind a Prisma error: a HyperdriveError whose code and message Prisma copied (it drops the
 * error itself), or a driver error it keeps in `meta.driverAdapterError`.
 */
function copiedHyperdriveError(error: unknown): HyperdriveError | undefined {
  const { code, clientVersion } = (error ?? {}) as { code?: unknown; clientVersion?: unknown };
  const copied = typeof code === "string" && Object.hasOwn(catalog, code);
  return copied || typeof clientVersion === "string" ? findHyperdriveError(error) : undefined;
}

/** The catalogue code an error carries (itself, wrapped, or copied by Prisma), else `untyped: …`. */
function codeOf(error: unknown): string {
  return hyperdriveErrorIn(error)?.code ?? copiedHyperdriveError(error)?.code ?? `untyped: ${String(error)}`;
}

/** A Prisma error (P-code) about a query: the database's own SQLSTATE or errno, as classify() finds it. */
function prismaDatabaseError(error: unknown) {
  if (typeof (error as { clientVersion?: unknown } | undefined)?.clientVersion !== "string") return undefined;
  const classified = classify(error);
  if (classified.type !== "database") return undefined;
  const { name, message, code } = error as Error & { code?: unknown };
  return { name, message, driverCode: code, sqlState: classified.sqlState, errno: classified.errno };
}

function errorJson(error: unknown, started: number): Response {
  state.outputs.push(...renderings(error));
  const typed = hyperdriveErrorIn(error) ?? copiedHyperdriveError(error);
  // A database error an ORM wrapped: its fields are on the cause.
  const wrapped = (error as { cause?: { code?: unknown } } | undefined)?.cause;
  const fields = (
    (error as { code?: unknown } | undefined)?.code === undefined && wrapped?.code !== undefined ? wrapped : error
  ) as { sqlState?: unknown; errno?: unknown; code?: unknown } | undefined;
  // Prisma keeps what the database said in `meta.driverAdapterError`, behind its own P-code.
  const database = prismaDatabaseError(error);
  if (database) return Response.json({ ...database, ms: Date.now() - started });
  return Response.json({
    code: typed?.code,
    category: typed?.category,
    name: typed?.name ?? (error instanceof Error ? error.name : typeof error),
    // The ORM's error around the HyperdriveError, if any (Drizzle's DrizzleQueryError).
    wrapper: typed && typed !== error && error instanceof Error ? error.constructor.name : undefined,
    message: typed?.message ?? (error instanceof Error ? error.message : String(error)),
    retryable: typed?.retryable,
    // What a database-reported error carries instead of a catalogue code (a HyperdriveError keeps the SQLSTATE).
    driverCode: typed ? undefined : fields?.code,
    sqlState: typed?.sqlState ?? fields?.sqlState,
    errno: fields?.errno,
    ms: Date.now() - started,
  });
}

let observing = false;
/** The kinds of body `/framing` answers with, raw and through the handle. */
export const FRAMING_KINDS = [
  "json",
  "text",
  "bytes",
  "blob",
  "empty",
  // A JS stream that says its length up front (workerd's `expectedLength`).
  "expected",
  // A `FixedLengthStream` written after the callback returned, with a query's result.
  "fixed",
  // A JS stream of unknown length.
  "stream",
  // A null body with 204.
  "noContent",
] as const;

/** `kind`'s response; `value` is `"1"`, from a query when the response goes through the handle. */
function framed(kind: string, value: () => Promise<string>): Response {
  const bytes = (text: string) => new TextEncoder().encode(text);
  const headers = { "x-kind": kind };
  switch (kind) {
    case "json":
      return Response.json({ kind }, { headers });
    case "text":
      return new Response(`kind ${kind}`, { headers });
    case "bytes":
      return new Response(bytes(`kind ${kind}`), { headers });
    case "blob":
      return new Response(new Blob([`kind ${kind}`]), { headers });
    case "empty":
      return new Response("", { headers });
    case "expected":
    case "stream":
      return new Response(
        new ReadableStream({
          ...(kind === "expected" ? { expectedLength: 1 } : {}),
          async pull(controller: ReadableStreamDefaultController<Uint8Array>) {
            controller.enqueue(bytes(await value()));
            controller.close();
          },
        } as UnderlyingSource<Uint8Array>),
        { headers },
      );
    case "fixed": {
      const { readable, writable } = new FixedLengthStream(1);
      void value().then(async (text) => {
        const writer = writable.getWriter();
        await writer.write(bytes(text));
        await writer.close();
      });
      return new Response(readable, { headers });
    }
    case "noContent":
      return new Response(null, { status: 204, headers });
    default:
      return new Response(`no framing kind ${kind}`, { status: 404 });
  }
}

/** Counts unhandled rejections and copies console lines into the outputs; once per isolate. */
function observe(): void {
  if (observing) return;
  observing = true;
  addEventListener("unhandledrejection", (event) => {
    const reason: unknown = event.reason;
    if (isRuntimeSocketLoss(reason)) state.runtimeSocketLoss++;
    else {
      state.unhandledTotal++;
      state.unhandled.push(renderings(reason)[0] ?? "undefined");
    }
  });
  for (const level of ["log", "info", "warn", "error", "debug"] as const) {
    const original = console[level].bind(console);
    console[level] = (...args: unknown[]) => {
      state.outputs.push(args.map((arg) => (typeof arg === "string" ? arg : json(arg))).join(" "));
      original(...args);
    };
  }
}

export function createConformanceWorker<Db>(driver: ConformanceDriver<Db>): ExportedHandler<Record<string, unknown>> {
  const one = async (db: Db) => (await driver.query(db, "select 1 as one"))[0]?.one;
  // Through the ADMIN binding, in a scope of its own, so the count never includes a handle of the routes below. It
  // answers once its own session is closed: torn down through waitUntil, that session would otherwise still be open
  // when the next request counts (a `/connections` that saw 0, then `/lazy` saw 1).
  const connectionCount = async (env: unknown, ctx: ExecutionContext): Promise<number> => {
    let n = Number.NaN;
    let scope: RequestScope | undefined;
    await driver.withHyperdrive(
      env,
      ctx,
      async (db, s) => {
        scope = s;
        n = Number((await driver.query(db, driver.countConnectionsSql))[0]?.n);
        return new Response(null);
      },
      { binding: "ADMIN" },
    );
    await scope?.closed;
    return n;
  };
  /**
   * The count once it is `want`, or the last one after 10 s. A server may list a closed session a moment after the
   * client saw it close, so a count taken at once can still see one; a session a handle holds stays counted for the
   * whole wait.
   */
  const settledCount = async (env: unknown, ctx: ExecutionContext, want: number): Promise<number> => {
    let n = await connectionCount(env, ctx);
    for (const until = Date.now() + 10_000; n !== want && Date.now() < until; n = await connectionCount(env, ctx)) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return n;
  };
  /** Waits, bounded, until the server runs the sleep statement (on session `id`, if given): a fault then lands on it. */
  const untilSleeping = async (env: unknown, ctx: ExecutionContext, id?: number): Promise<void> => {
    await driver.withHyperdrive(
      env,
      ctx,
      async (admin) => {
        for (const until = Date.now() + 15_000; Date.now() < until; ) {
          if (Number((await driver.query(admin, driver.sleepingSql(id)))[0]?.n) > 0) return new Response(null);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        throw new Error("the sleep statement never started on the server");
      },
      { binding: "ADMIN" },
    );
  };
  /** A handle used in a scope and kept past the scope's teardown, with that scope (torn down). */
  const keptPastTeardown = async (
    env: unknown,
    ctx: ExecutionContext,
    options: Record<string, unknown>,
  ): Promise<{ kept: Db; scope: RequestScope }> => {
    let kept: { db: Db; scope: RequestScope } | undefined;
    const response = await driver.withHyperdrive(
      env,
      ctx,
      async (db, scope) => {
        kept = { db, scope };
        return Response.json({ one: await one(db) });
      },
      options,
    );
    await response.text(); // teardown waits for the body to be consumed
    if (!kept) throw new Error("the scope's callback never ran");
    await kept.scope.closed;
    return { kept: kept.db, scope: kept.scope };
  };
  /** The call of `rawQuery` on a handle: whether it threw synchronously, and the code it failed with. */
  const misused = async (db: Db): Promise<Response> => {
    let result: unknown;
    try {
      result = driver.rawQuery ? driver.rawQuery(db, "select 1 as one") : driver.query(db, "select 1 as one");
    } catch (error) {
      return Response.json({ threw: true, code: hyperdriveErrorIn(error)?.code, message: String(error) });
    }
    try {
      await result;
      return Response.json({ threw: false, resolved: true });
    } catch (error) {
      return Response.json({ threw: false, code: hyperdriveErrorIn(error)?.code, message: String(error) });
    }
  };
  /** A body that queries for each of its three chunks, after the callback has returned: the scope must stay open. */
  const threeChunks = (db: Db): ReadableStream<Uint8Array> => {
    let i = 0;
    const encoder = new TextEncoder();
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        const rows = await driver.query(db, `select ${i} as i`);
        controller.enqueue(encoder.encode(`${JSON.stringify(rows[0])}\n`));
        logEntry(`chunk:${i}`);
        if (++i === 3) controller.close();
      },
    });
  };
  /** Uses a kept object and answers with how long it took to succeed or fail. */
  const timedUse = async (derived: DerivedObject<Db>, name: string): Promise<Response> => {
    const usedAt = Date.now();
    try {
      await derived.use(state.derived.get(name));
    } catch (error) {
      return errorJson(error, usedAt);
    }
    return Response.json({ used: true, ms: Date.now() - usedAt });
  };
  const cases = kindCases(driver, record);
  return {
    // The handler kinds besides fetch (handler-kinds.ts): the cron string and the message body carry the order.
    async scheduled(controller, env, ctx) {
      observe();
      await cases(env, ctx, JSON.parse(controller.cron) as KindOrder);
    },
    async queue(batch, env, ctx) {
      observe();
      for (const message of batch.messages) await cases(env, ctx, message.body as KindOrder);
    },
    fetch(request, env, ctx) {
      const id = ++lastRequest;
      return requests.run(id, async () => {
        const response = await route(request, env, ctx);
        // Tells the suite which log entries are this request's.
        const tagged = new Response(response.body, response);
        tagged.headers.set("x-hdk-request", String(id));
        return tagged;
      });
    },
  };

  async function route(request: Request, env: Record<string, unknown>, ctx: ExecutionContext): Promise<Response> {
    observe();
    const url = new URL(request.url);
    const started = Date.now();
    const options = { onEvent: record, ...JSON.parse(url.searchParams.get("options") ?? "{}") };
    try {
      switch (url.pathname) {
        case "/query":
          return await driver.withHyperdrive(env, ctx, async (db) => Response.json({ one: await one(db) }), options);
        case "/connections":
          return Response.json({ n: await connectionCount(env, ctx) });
        case "/sleeping":
          // Sessions running the sleep statement, through ADMIN.
          return await driver.withHyperdrive(
            env,
            ctx,
            async (admin) => Response.json({ n: Number((await driver.query(admin, driver.sleepingSql()))[0]?.n) }),
            { binding: "ADMIN" },
          );
        case "/after-failed-connect":
          // node-postgres's own transaction idiom, against a database that refuses the connection: the rollback in
          // the catch must settle too (typed), not hang the request. Bounded here so a hang shows as "hung".
          return await driver.withHyperdrive(
            env,
            ctx,
            async (db) => {
              const outcome = async (text: string) => {
                const at = Date.now();
                let timer: ReturnType<typeof setTimeout> | undefined;
                const hung = new Promise<string>((resolve) => {
                  timer = setTimeout(() => resolve("hung"), 15_000);
                });
                const settled = driver.query(db, text).then(
                  () => "answered",
                  (error: unknown) => codeOf(error),
                );
                const result = await Promise.race([settled, hung]);
                clearTimeout(timer);
                return { result, ms: Date.now() - at };
              };
              const begin = await outcome("begin");
              const rollback = await outcome("rollback");
              return Response.json({ begin, rollback });
            },
            options,
          );
        case "/reset-mid-query": {
          // The proxy resets the connection while a query runs on it, after the connection was established.
          const control = url.searchParams.get("control") ?? "";
          return await driver.withHyperdrive(
            env,
            ctx,
            async (db) => {
              await one(db);
              const running = driver.query(db, driver.sleepSql(3));
              running.catch(() => {}); // awaited below; this only keeps it from counting as unhandled meanwhile
              await untilSleeping(env, ctx);
              await fetch(`${control}/proxy/mode`, {
                method: "POST",
                body: JSON.stringify({ mode: { kind: "pass" }, resetAll: true }),
              });
              const resetAt = Date.now();
              try {
                await running;
              } catch (error) {
                return errorJson(error, resetAt);
              }
              return Response.json({ answered: true });
            },
            options,
          );
        }
        case "/late-query": {
          // Work started in the callback and handed to ctx.waitUntil, not awaited: teardown must let it finish.
          const token = url.searchParams.get("token") ?? "";
          const seconds = Number(url.searchParams.get("seconds") ?? "1");
          return await driver.withHyperdrive(
            env,
            ctx,
            async (db) => {
              ctx.waitUntil(
                driver.query(db, driver.sleepSql(seconds)).then(
                  () => lateOutcomes.set(token, "ok"),
                  (error: unknown) => lateOutcomes.set(token, codeOf(error)),
                ),
              );
              return Response.json({ started: true });
            },
            options,
          );
        }
        case "/late-result":
          return Response.json({ outcome: lateOutcomes.get(url.searchParams.get("token") ?? "") ?? null });
        case "/misuse-catch": {
          // A kept handle used the way user code calls the driver (`db.query(…).catch(…)`): it must reject.
          const where = url.searchParams.get("where");
          if (where === "outside") return await misused(state.stash as Db);
          if (where === "other-scope")
            return await driver.withHyperdrive(env, ctx, () => misused(state.stash as Db), options);
          const { kept, scope } = await keptPastTeardown(env, ctx, options);
          // Inside the same request, after teardown: the scope's context is still active.
          return await scope.run(() => misused(kept));
        }
        case "/lazy":
          return await driver.withHyperdrive(
            env,
            ctx,
            async (db) => {
              // A handle that connected when made would hold its session through both waits.
              const before = await settledCount(env, ctx, 0);
              await one(db);
              return Response.json({ before, during: await settledCount(env, ctx, 1) });
            },
            options,
          );
        case "/unused":
          return await driver.withHyperdrive(env, ctx, async () => Response.json({ unused: true }), options);
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
          const { kept, scope } = await keptPastTeardown(env, ctx, options);
          return Response.json({ one: await one(kept), state: scope.state });
        }
        case "/stream":
          return await driver.withHyperdrive(
            env,
            ctx,
            async (db) => new Response(threeChunks(db), { headers: { "content-type": "text/plain; charset=utf-8" } }),
            options,
          );
        case "/sleep": {
          const seconds = Number(url.searchParams.get("seconds") ?? "1");
          return await driver.withHyperdrive(
            env,
            ctx,
            async (db) => Response.json({ rows: await driver.query(db, driver.sleepSql(seconds)) }),
            options,
          );
        }
        case "/stream-rows": {
          // Reads a statement's rows through the driver's row stream, the first `slow` rows `rowMs` each (a slow
          // reader), and lands `fault` (through the control server) on the stream after its first row. Bounded here
          // so a hang shows as "hung"; an end is only an end with every row.
          if (driver.streamRows === undefined) return new Response("this driver has no row stream", { status: 404 });
          const streamRows = driver.streamRows;
          const param = (name: string, fallback: number) => Number(url.searchParams.get(name) ?? fallback);
          const [count, slow, rowMs] = [param("rows", 8), param("slow", 8), param("rowMs", 0)];
          const fault = url.searchParams.get("fault");
          const control = url.searchParams.get("control") ?? "";
          return await driver.withHyperdrive(
            env,
            ctx,
            async (db) => {
              let seen = 0;
              const each = async () => {
                seen++;
                if (seen === 1 && fault === "reset")
                  await fetch(`${control}/proxy/mode`, {
                    method: "POST",
                    body: JSON.stringify({ mode: { kind: "pass" }, resetAll: true }),
                  });
                if (seen === 1 && fault === "stall") await fetch(`${control}/proxy/stall`, { method: "POST" });
                if (seen === 1 && fault === "halt")
                  await fetch(`${control}/server/halt`, { method: "POST", body: "{}" });
                if (seen <= slow && rowMs > 0) await new Promise((resolve) => setTimeout(resolve, rowMs));
              };
              let timer: ReturnType<typeof setTimeout> | undefined;
              const hung = new Promise<string>((resolve) => {
                timer = setTimeout(() => resolve("hung"), 20_000);
              });
              const read = streamRows(db, driver.rowsSql(count, param("width", 1)), each).then(
                () => "end",
                (error: unknown) => {
                  state.outputs.push(...renderings(error));
                  return (
                    hyperdriveErrorIn(error)?.code ??
                    copiedHyperdriveError(error)?.code ??
                    `untyped: ${String(error)} (${(error as { code?: unknown } | null)?.code})`
                  );
                },
              );
              const outcome = await Promise.race([read, hung]);
              clearTimeout(timer);
              return Response.json({ outcome, rows: seen, of: count, ms: Date.now() - started });
            },
            options,
          );
        }
        case "/kill-mid-query":
          // The server ends this request's connection while a query runs on it (an operator's KILL, a failover).
          return await driver.withHyperdrive(
            env,
            ctx,
            async (db) => {
              const id = Number((await driver.query(db, driver.backendIdSql))[0]?.id);
              const running = driver.query(db, driver.sleepSql(30));
              running.catch(() => {}); // awaited below; this only keeps it from counting as unhandled meanwhile
              // Killed only once the server runs the sleep: the fault lands on the query, in every interleaving.
              await untilSleeping(env, ctx, id);
              await driver.withHyperdrive(
                env,
                ctx,
                async (admin) => {
                  await driver.query(admin, driver.killSql(id));
                  return new Response(null);
                },
                { binding: "ADMIN" },
              );
              return Response.json({ rows: await running });
            },
            options,
          );
        case "/derived/names":
          return Response.json(Object.keys(driver.derived?.(options) ?? {}));
        case "/derived/stash":
        case "/derived/after-teardown": {
          const name = url.searchParams.get("name") ?? "";
          const derived = driver.derived?.(options)[name];
          if (!derived) return new Response(`no derived object ${name}`, { status: 404 });
          let scope: RequestScope | undefined;
          const response = await driver.withHyperdrive(
            env,
            ctx,
            async (db, s) => {
              scope = s;
              await derived.make(db, (object) => state.derived.set(name, object));
              return Response.json({ kept: state.derived.has(name) });
            },
            options,
          );
          if (url.pathname === "/derived/stash") return response;
          await response.text(); // teardown waits for the body to be consumed
          await scope?.closed;
          return await timedUse(derived, name);
        }
        case "/derived/reuse":
        case "/derived/reuse-in-scope": {
          const name = url.searchParams.get("name") ?? "";
          const derived = driver.derived?.(options)[name];
          if (!derived) return new Response(`no derived object ${name}`, { status: 404 });
          if (url.pathname === "/derived/reuse") return await timedUse(derived, name);
          return await driver.withHyperdrive(env, ctx, () => timedUse(derived, name), options);
        }
        case "/query-timeout": {
          // The database stops answering after the connection is up (the proxy stalls it): only the query
          // timeout can end the wait.
          const control = url.searchParams.get("control") ?? "";
          return await driver.withHyperdrive(
            env,
            ctx,
            async (db) => {
              await one(db);
              await fetch(`${control}/proxy/stall`, { method: "POST" });
              const stalledAt = Date.now();
              try {
                await one(db);
              } catch (error) {
                return errorJson(error, stalledAt);
              }
              return Response.json({ answered: true });
            },
            options,
          );
        }
        case "/middleware": {
          // What an integration does (a Hono middleware): open a scope, attach the handle before the downstream
          // handler runs, run it inside the scope, and settle the scope with its response, or close it when it
          // throws.
          const scope = openScope(ctx, options);
          const db = driver.attach(scope, env, options);
          const early = await one(db).then(
            () => "usable",
            (error: unknown) => hyperdriveErrorIn(error)?.code ?? String(error),
          );
          logEntry(`before-run:${early}`);
          const downstream = url.searchParams.get("downstream");
          try {
            const response = await scope.run(async () => {
              if (downstream === "throw") {
                await one(db);
                throw new Error("downstream handler failed");
              }
              if (downstream === "stream") return new Response(threeChunks(db));
              return Response.json({ one: await one(db) });
            });
            return scope.settle(response);
          } catch (error) {
            await scope.close();
            logEntry(`closed:${scope.state}`);
            return Response.json({ error: String(error), state: scope.state });
          }
        }
        case "/framing": {
          // The same response, as the raw driver's code returns it and through the handle: the suite compares the
          // framing a client gets (`Content-Length` or chunked).
          const kind = url.searchParams.get("kind") ?? "";
          if (url.searchParams.get("through") !== "handle") return framed(kind, async () => "1");
          return await driver.withHyperdrive(
            env,
            ctx,
            async (db) => framed(kind, async () => String(await one(db))),
            options,
          );
        }
        case "/kinds/report":
          return Response.json(reportOf(url.searchParams.get("run") ?? "") ?? null);
        case "/kinds/teardowns":
          return Response.json(teardownsOf(url.searchParams.get("run") ?? ""));
        case "/log":
          return Response.json(state.log.splice(0));
        case "/outputs":
          return Response.json(state.outputs.splice(0));
        case "/unhandled":
          return Response.json({
            unhandled: state.unhandled.splice(0),
            total: state.unhandledTotal,
            runtimeSocketLoss: state.runtimeSocketLoss,
          });
        default:
          return new Response("not found", { status: 404 });
      }
    } catch (error) {
      return errorJson(error, started);
    }
  }
}

/** The Durable Object, RPC entrypoint and Workflow classes of the handler-kind suite, for the adapter's test Worker. */
export function handlerKindClasses<Db>(driver: ConformanceDriver<Db>) {
  return createHandlerKindClasses(driver, record);
}
