import {
  type AttachOptions,
  type ExecutionContextLike,
  findHyperdriveError,
  type HyperdriveError,
  type HyperdriveEvent,
  isHyperdriveError,
  type RequestScope,
  type ScopeOptions,
} from "@hyperdrive-kit/core";
import { type Adapter, attach, checkOptions, openScope } from "@hyperdrive-kit/core/adapter";
import type { Context, Env, ErrorHandler, MiddlewareHandler } from "hono";
import { unavailable } from "./unavailable.ts";

// Errors and their classification, for handlers that answer them themselves.
export { classify, findHyperdriveError, HyperdriveError, isHyperdriveError } from "@hyperdrive-kit/core";

/** What the middleware puts on `c.var`: the handle under `Name`, its request scope under `${Name}Scope`. */
export { durableObjectContext } from "./durable-object.ts";
export type HyperdriveVariables<Name extends string, Handle> = { [K in Name]: Handle } & {
  [K in `${Name}Scope`]: RequestScope;
};

export interface HyperdriveMiddlewareOptions<Client, Handle, Name extends string> {
  /** The `c.var` key of the handle. Default `"db"`; the scope is under `${as}Scope`. */
  as?: Name;
  /** Builds what handlers get from the request's client, an ORM for example: `(sql) => drizzle(sql, { schema })`. */
  map?: (client: Client) => Handle;
  /**
   * Adds a `Server-Timing` header: `db` (time in queries, with query and connection counts) and `db-connect`, as of
   * when the handler returned its response (queries a streamed body runs later are not in it).
   */
  serverTiming?: boolean;
}

/** The middleware's own options, besides the adapter's. */
const MIDDLEWARE_KEYS = ["as", "map", "serverTiming"];

/** Where Hono has no execution context (`app.request()` in tests, Node.js): teardown runs, and nothing waits for it. */
const BACKGROUND: ExecutionContextLike = {
  waitUntil: (promise) => {
    promise.catch(() => {});
  },
};

function executionContextOf(c: Context): ExecutionContextLike {
  try {
    return c.executionCtx;
  } catch {
    return BACKGROUND;
  }
}

/**
 * A middleware that gives each request its own handle of `adapter` on `c.var.db` (or `c.var[as]`). No connection is
 * made before the first query; the connection is closed through `ctx.waitUntil` after the response has been sent
 * (a streamed body included), never by awaiting after `next()`. A handle kept past its request fails with a typed
 * error instead of reaching another request's I/O.
 */
export function hyperdrive<
  Client extends object,
  Options extends AttachOptions,
  Handle = Client,
  Name extends string = "db",
>(
  adapter: Adapter<Client, Options>,
  ...[options]: {} extends Options
    ? [options?: Options & ScopeOptions & HyperdriveMiddlewareOptions<Client, Handle, Name>]
    : [options: Options & ScopeOptions & HyperdriveMiddlewareOptions<Client, Handle, Name>]
): MiddlewareHandler<{ Variables: HyperdriveVariables<Name, Handle> }> {
  // Checked once, here: a misspelt option fails when the app is built, naming the middleware's own options too.
  checkOptions(adapter, options ?? {}, MIDDLEWARE_KEYS);
  const { as = "db", map, serverTiming, ...attachOptions } = options ?? ({} as NonNullable<typeof options>);
  return async (c, next) => {
    const timing = serverTiming ? new Timing() : undefined;
    const userHook = attachOptions.onEvent;
    const scopeOptions = timing
      ? {
          ...attachOptions,
          // Shorthand, not a named arrow: esbuild's `keep_names` (wrangler) would name it per request.
          onEvent(event: HyperdriveEvent) {
            timing.record(event);
            userHook?.(event);
          },
        }
      : attachOptions;
    const scope = openScope(executionContextOf(c), scopeOptions);
    const vars = c as unknown as { set(key: string, value: unknown): void };
    vars.set(as, handleOf(adapter, scope, c.env, scopeOptions as Options, map));
    vars.set(`${as}Scope`, scope);
    try {
      await scope.run(next);
    } catch (error) {
      void scope.settle(undefined); // tears down through waitUntil, without delaying the error
      throw error;
    }
    if (timing) c.header("Server-Timing", timing.header());
    const settled = await scope.settle(c.res);
    if (settled !== c.res) c.res = settled;
  };
}

/**
 * The request's handle, or, when it cannot be made (no Hyperdrive binding in `env`, or not a binding), a stand-in
 * that throws that typed error where a route first uses it: an app without a database (a no-database mode, a health
 * check, a 404) does not answer 500 on every route. `map` runs only on a real client: an ORM's constructor reads it.
 */
function handleOf<Client extends object, Options extends AttachOptions, Handle>(
  adapter: Adapter<Client, Options>,
  scope: RequestScope,
  env: unknown,
  options: Options,
  map: ((client: Client) => Handle) | undefined,
): Client | Handle {
  let client: Client;
  try {
    client = attach(adapter, scope, env, options);
  } catch (error) {
    if (isHyperdriveError(error)) return unavailable<Client>(error);
    throw error;
  }
  return map ? map(client) : client;
}

/** Query and connection time of one request, from the scope's events. */
class Timing {
  #queries = 0;
  #queryMs = 0;
  #connects = 0;
  #connectMs = 0;

  record(event: HyperdriveEvent): void {
    if (event.type === "query") {
      this.#queries++;
      this.#queryMs += event.durationMs;
    } else if (event.type === "connect") {
      this.#connects++;
      this.#connectMs += event.durationMs;
    }
  }

  header(): string {
    const queries = `${this.#queries} ${this.#queries === 1 ? "query" : "queries"}`;
    const desc = `${queries}, ${this.#connects} ${this.#connects === 1 ? "connect" : "connects"}`;
    return `db;dur=${this.#queryMs.toFixed(1)};desc="${desc}", db-connect;dur=${this.#connectMs.toFixed(1)}`;
  }
}

export interface ErrorHandlerOptions<E extends Env = Env> {
  /**
   * Whether the answer includes the message, the fix and the docs link (they name your binding and driver, never a
   * secret). Default `false`; turn it on for local development only, e.g. `(c) => c.env.EXPOSE_ERROR_FIX === "true"`
   * with `EXPOSE_ERROR_FIX=true` in `.dev.vars`: a deploy without that var keeps them out.
   */
  exposeFix?: boolean | ((c: Context<E>) => boolean);
  /** Whether to `console.error` the error's message (redacted, with the fix). Default `true`. */
  log?: boolean;
  /** The answer to every other error. Default: an `HTTPException`'s own response, else 500 like Hono's. */
  fallback?: ErrorHandler<E>;
}

/** The JSON body the error handler answers a HyperdriveError with. */
export interface HyperdriveErrorBody {
  error: {
    code: HyperdriveError["code"];
    category: HyperdriveError["category"];
    retryable: boolean;
    message?: string;
    fix?: string;
    docs?: string;
  };
}

/**
 * An `app.onError` handler: a HyperdriveError (also one an ORM wrapped, such as Drizzle's `DrizzleQueryError`)
 * becomes JSON with its `code`, `category` and `retryable`, status 503 when retrying can help and 500 otherwise.
 */
export function hyperdriveErrorHandler<E extends Env = Env>(options: ErrorHandlerOptions<E> = {}): ErrorHandler<E> {
  const { exposeFix = false, log = true, fallback } = options;
  return (error, c) => {
    const typed = findHyperdriveError(error);
    if (!typed) return fallback ? fallback(error, c) : honoDefault(error, c);
    if (log) console.error(typed.message);
    const expose = typeof exposeFix === "function" ? exposeFix(c) : exposeFix;
    const body: HyperdriveErrorBody = {
      error: {
        code: typed.code,
        category: typed.category,
        retryable: typed.retryable,
        ...(expose ? { message: typed.message, fix: typed.fix, docs: typed.docs } : {}),
      },
    };
    return c.json(body, typed.retryable ? 503 : 500);
  };
}

/** What Hono answers without an error handler. */
function honoDefault(error: Error, c: Context): Response | Promise<Response> {
  const http = error as Error & { getResponse?: () => Response };
  if (typeof http.getResponse === "function") return http.getResponse();
  console.error(error);
  return c.text("Internal Server Error", 500);
}
