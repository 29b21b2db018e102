import type { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import type { ExecutionContextLike, RequestScope, WithHyperdriveOptions } from "@hyperdrive-kit/core";
import {
  type Adapter,
  type AdapterContext,
  type AttachOptions,
  type Binder,
  createWithHyperdrive,
  type GuardSpec,
  type OpenedClient,
  refuseCommonUnsafe,
  socketPool,
  type WorkerSocket,
} from "@hyperdrive-kit/core/adapter";
import { Client, type ClientConfig, Pool, type PoolConfig } from "pg";

/** Fields that come from the Hyperdrive binding and cannot be overridden. */
type BindingFields = "connectionString" | "host" | "port" | "user" | "password" | "database" | "stream";

export interface PgClientOptions extends AttachOptions {
  /** Passed to `new Client()` after the binding's connection string. */
  client?: Omit<ClientConfig, BindingFields>;
  pool?: false;
}

export interface PgPoolOptions extends AttachOptions {
  /** A per-request `Pool` for parallel queries; `max` defaults to 5 (Workers allow 6 connections per request). */
  pool: true;
  /** Passed to `new Pool()` after the binding's connection string. */
  client?: Omit<PoolConfig, BindingFields>;
}

export type PgOptions = PgClientOptions | PgPoolOptions;

/** `max` of a per-request pool: one below the Workers limit of six connections per request. */
export const DEFAULT_POOL_MAX = 5;

/** What `allowUnsafe` can name for pg: the refusals of `refuseUnsafeConfig`. */
const PG_UNSAFE = ["max", "ssl"];

function refuseUnsafeConfig(context: AdapterContext, config: { ssl?: unknown; max?: number } | undefined): void {
  refuseCommonUnsafe(context, "pg", {
    ssl: config?.ssl,
    connections: { option: "max", value: config?.max, suggested: DEFAULT_POOL_MAX },
  });
}

/** What a request's clients need from it; passed in their config, since a `Pool` builds them with `new Client(config)`. */
interface RequestParts {
  readonly context: AdapterContext;
  readonly sockets: ReturnType<typeof socketPool>;
  readonly timeoutMs: number | undefined;
}

/** The config key under which a {@link HyperdriveClient} finds its request's parts (a symbol: JSON leaves it out). */
const REQUEST = Symbol("hyperdrive-kit request");

type RequestClientConfig = ClientConfig & { readonly [REQUEST]: RequestParts };

/**
 * pg's `Client` for one request: sockets from core (no unhandled rejection on close), and a `connect()` that is
 * idempotent and reports the attempt to core, which bounds it (TCP, TLS, authentication, startup) and emits the
 * `connect` event. A `Pool` builds its clients from this class too, so both modes connect the same way.
 *
 * One class for every request, not one made per request: each new class gives its instances new hidden classes, and
 * pg's code, seeing another one on every request, ran with missed inline caches (in the bench, 2–4% more
 * instructions per request).
 */
class HyperdriveClient extends Client {
  #connecting: Promise<Client> | undefined;
  #failure: { readonly error: unknown } | undefined;
  readonly #stream: { socket?: WorkerSocket };
  readonly #request: RequestParts;

  constructor(config: RequestClientConfig) {
    const { [REQUEST]: request, ...rest } = config;
    // pg calls `stream` inside its constructor, before `this` exists here.
    const stream: { socket?: WorkerSocket } = {};
    super({
      ...rest,
      // Method shorthand and module-level helpers, not named arrows, in what runs per request: wrangler bundles with
      // esbuild's `keep_names`, which gives every named closure an `Object.defineProperty` call (see core's guard.ts).
      stream() {
        stream.socket = request.sockets.create();
        return stream.socket as unknown as Socket;
      },
    });
    this.#stream = stream;
    this.#request = request;
  }

  /** Why this client's connection attempt failed, once it has (pg cannot reconnect a `Client`). */
  get connectFailure(): { readonly error: unknown } | undefined {
    return this.#failure;
  }

  override connect(): Promise<Client>;
  override connect(callback: (error: Error) => void): void;
  override connect(callback?: (error: Error) => void): Promise<Client> | void {
    this.#connecting ??= this.#open();
    if (typeof callback !== "function") return this.#connecting;
    // pg's dual API: with a callback, nothing is returned; pg-pool's callback takes (error, client).
    const done = callback as (error: Error | null, client?: Client) => void;
    this.#connecting.then(
      (client) => done(null, client),
      (error: Error) => done(error),
    );
    return undefined;
  }

  async #open(): Promise<Client> {
    const { context, timeoutMs } = this.#request;
    const attempt = context.connecting((error) => this.#stream.socket?.destroy(error), timeoutMs);
    try {
      await super.connect();
      attempt.succeeded();
      return this;
    } catch (error) {
      // pg fails queued queries only once the socket ends; a server still waiting for the rest of the
      // handshake (a SASL exchange pg gave up on) would keep it open until its authentication_timeout.
      queueMicrotask(() => this.#stream.socket?.destroy());
      const failure = attempt.failed(error);
      this.#failure = { error: failure };
      throw failure;
    }
  }
}

/**
 * pg's `query()`, `connect()` and `end()` return a promise when given no callback, except `query(submittable)`, which
 * returns the submittable (a `Cursor`, a `QueryStream`).
 */
function pgReturnsPromise(property: PropertyKey, args: readonly unknown[]): boolean {
  if (property === "query") return typeof (args[0] as { submit?: unknown } | null)?.submit !== "function";
  return property === "connect" || property === "end";
}

/** The query objects pg hands back (a `Cursor`, a `QueryStream`): they read from the connection later. */
const SUBMITTABLE: GuardSpec = { queryMethods: ["read", "close"], nodeCallbacks: true, callIsQuery: false };
/** A pool's client (`pool.connect()`), bound to the scope like the pool itself; `release()` included. */
const POOL_CLIENT: GuardSpec = {
  queryMethods: ["query"],
  nodeCallbacks: true,
  callIsQuery: false,
  returnsPromise: pgReturnsPromise,
};

const bindPg: Binder = (value) => {
  if (value instanceof HyperdriveClient) return POOL_CLIENT;
  if (typeof (value as { submit?: unknown }).submit !== "function") return undefined;
  closeSettlesOnLostConnection(value as Submittable);
  return SUBMITTABLE;
};

/** What pg-cursor's `Cursor` (and pg-query-stream) has that this adapter uses. */
interface Submittable {
  close?: (callback?: (error?: unknown) => void) => Promise<void> | undefined;
  /** Its connection; the stream is core's socket (`whenClosed`). */
  connection?: (EventEmitter & { stream?: { readyState?: string; whenClosed?: Promise<void> } }) | null;
}

/** Cursors whose `close()` is already made to settle. */
const closeFollowed = new WeakSet<object>();

/**
 * pg-cursor's `close()` closes the portal and waits for the server's ReadyForQuery: on a connection that is gone (a
 * reset, a stopped database, a killed backend, core's query timeout) none ever comes, and the `close()` that every
 * cursor's `finally` awaits never settles: the request hung. It settles once the connection is closed (at once when
 * it already is); the error that closed it was the read's.
 */
function closeSettlesOnLostConnection(submittable: Submittable): void {
  const { close } = submittable;
  if (typeof close !== "function" || closeFollowed.has(submittable)) return;
  closeFollowed.add(submittable);
  submittable.close = function (this: Submittable, callback?: (error?: unknown) => void) {
    const outcome = new CloseOutcome(this.connection, callback);
    close.call(this, outcome.done);
    const connection = this.connection;
    if (connection != null) {
      // The socket's own end, not pg's 'end': a pool's client whose socket core destroyed (a query timeout) was
      // never told.
      connection.once("end", outcome.ended);
      void connection.stream?.whenClosed?.then(outcome.ended);
    }
    return callback ? undefined : outcome.settled.promise;
  };
}

/**
 * One cursor `close()`'s outcome: settled once, by pg-cursor's callback or by the connection's end. A class with bound
 * methods, not closures: wrangler's keep_names would name each closure on every call.
 */
class CloseOutcome {
  readonly settled = Promise.withResolvers<void>();
  readonly done: (error?: unknown) => void;
  readonly ended: () => void;
  #over = false;
  readonly #connection: Submittable["connection"];
  readonly #callback: ((error?: unknown) => void) | undefined;

  constructor(connection: Submittable["connection"], callback: ((error?: unknown) => void) | undefined) {
    this.#connection = connection;
    this.#callback = callback;
    this.done = this.#finish.bind(this);
    this.ended = this.#finish.bind(this, undefined);
  }

  #finish(error?: unknown): void {
    if (this.#over) return;
    this.#over = true;
    this.#connection?.removeListener("end", this.ended);
    if (this.#callback) this.#callback(error);
    else if (error) this.settled.reject(error);
    else this.settled.resolve();
  }
}

/** Why a connection attempt failed (its error), or `undefined` once it succeeded. */
function whyNotConnected(connected: Promise<unknown>): Promise<unknown> {
  return connected.then(
    () => undefined,
    (error: unknown) => error,
  );
}

/** One `Client` per request, connected on first use; `connect()` called by user code returns the same connection. */
export const pgClientAdapter: Adapter<Client, PgClientOptions> = {
  driver: "pg",
  optionKeys: ["client", "pool"],
  unsafeOptions: PG_UNSAFE,
  open(context, options): OpenedClient<Client> {
    refuseUnsafeConfig(context, options.client);
    const sockets = socketPool(context.reportIdle);
    const { connectionTimeoutMillis, ...config } = options.client ?? {};
    const client = new HyperdriveClient({
      ...config,
      connectionString: context.binding.connectionString,
      [REQUEST]: { context, sockets, timeoutMs: connectionTimeoutMillis },
    });
    // An idle client's socket error is emitted as 'error'; unhandled, it would crash the request.
    client.on("error", context.reportIdle);
    let connecting: Promise<Client> | undefined;
    return {
      client,
      queryMethods: ["query"],
      nodeCallbacks: true,
      callIsQuery: false,
      returnsPromise: pgReturnsPromise,
      bind: bindPg,
      abort(error) {
        sockets.destroyAll(error);
      },
      overrides: {
        query(...args: unknown[]) {
          // pg queues queries until the connection is ready and fails them if it cannot connect, but with its own
          // "Connection terminated unexpectedly": give them the connect's error, which says what went wrong.
          connecting ??= client.connect();
          const connected = connecting;
          connected.catch(() => {}); // observed below, when the query fails; never an unhandled rejection
          const last = args.length - 1;
          const callback = args[last];
          // A client whose connect failed never becomes queryable, and pg would queue this query on it for good (the
          // rollback in a `catch` after a failed `begin` hung the request): fail it at once with the connect's error.
          const failed = client.connectFailure;
          if (failed !== undefined) {
            const { error } = failed;
            if (typeof callback === "function") {
              queueMicrotask(() => callback(error));
              return undefined;
            }
            return Promise.reject(error);
          }
          if (typeof callback === "function") {
            args[last] = (error: unknown, ...rest: unknown[]) => {
              if (!error) return callback(error, ...rest);
              void whyNotConnected(connected).then((cause) => callback(cause ?? error, ...rest));
            };
          }
          const result = (client.query as (...a: unknown[]) => unknown)(...args);
          if (!(result instanceof Promise)) return result;
          return result.catch(async (error: unknown) => {
            throw (await whyNotConnected(connected)) ?? error;
          });
        },
      },
      async close() {
        if (connecting === undefined) return; // never connected: end() could hang (brianc/node-postgres#3152)
        await connecting.catch(() => {});
        await client.end();
        await sockets.allClosed();
      },
    };
  },
};

/** A `Pool` per request (`max: 5`) for queries that run in parallel; connections open on demand. */
export const pgPoolAdapter: Adapter<Pool, PgPoolOptions> = {
  driver: "pg",
  optionKeys: ["client", "pool"],
  unsafeOptions: PG_UNSAFE,
  open(context, options): OpenedClient<Pool> {
    refuseUnsafeConfig(context, options.client);
    const sockets = socketPool(context.reportIdle);
    const { connectionTimeoutMillis, ...config } = options.client ?? {};
    const pool = new Pool({
      max: DEFAULT_POOL_MAX,
      ...config,
      // Each client's connect is bounded by core (connectTimeoutMs); waiting for a free client is not a connect.
      connectionTimeoutMillis: 0,
      connectionString: context.binding.connectionString,
      // pg-pool copies its options (symbols included) and builds each client with `new Client(options)`.
      Client: HyperdriveClient as unknown as typeof Client,
      [REQUEST]: { context, sockets, timeoutMs: connectionTimeoutMillis },
    } as PoolConfig);
    pool.on("error", context.reportIdle);
    return {
      client: pool,
      queryMethods: ["query"],
      resolvesBound: ["connect"],
      nodeCallbacks: true,
      callIsQuery: false,
      returnsPromise: pgReturnsPromise,
      bind: bindPg,
      abort(error) {
        sockets.destroyAll(error);
      },
      async close() {
        await pool.end();
        await sockets.allClosed();
      },
    };
  },
};

const withClient = createWithHyperdrive(pgClientAdapter);
const withPool = createWithHyperdrive(pgPoolAdapter);

/**
 * Runs `fn` with a request-scoped node-postgres `Client` (or, with `{ pool: true }`, a `Pool` of up to 5
 * connections) on the Hyperdrive binding, and closes it through `ctx.waitUntil` once the work has settled.
 */
export function withHyperdrive<Result>(
  env: unknown,
  ctx: ExecutionContextLike,
  fn: (db: Client, scope: RequestScope) => Result | Promise<Result>,
  options?: WithHyperdriveOptions<PgClientOptions>,
): Promise<Result>;
export function withHyperdrive<Result>(
  env: unknown,
  ctx: ExecutionContextLike,
  fn: (db: Pool, scope: RequestScope) => Result | Promise<Result>,
  options: WithHyperdriveOptions<PgPoolOptions>,
): Promise<Result>;
export function withHyperdrive<Result>(
  env: unknown,
  ctx: ExecutionContextLike,
  fn: (db: never, scope: RequestScope) => Result | Promise<Result>,
  options?: WithHyperdriveOptions<PgOptions>,
): Promise<Result> {
  return options?.pool === true
    ? withPool(env, ctx, fn as (db: Pool, scope: RequestScope) => Result | Promise<Result>, options)
    : withClient(env, ctx, fn as (db: Client, scope: RequestScope) => Result | Promise<Result>, options);
}
