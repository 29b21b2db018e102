import * as diagnosticsChannel from "node:diagnostics_channel";
import { EventEmitter } from "node:events";
import { Socket } from "node:net";
import {
  type ExecutionContextLike,
  HyperdriveError,
  type RequestScope,
  type WithHyperdriveOptions,
} from "@hyperdrive-kit/core";
import {
  type Adapter,
  type AdapterContext,
  type AttachOptions,
  awaitServerClose,
  type Binder,
  bindValuesOf,
  type ConnectAttempt,
  connectionFields,
  createWithHyperdrive,
  type GuardSpec,
  type OpenedClient,
  objectValuesRefusal,
  refuseCommonUnsafe,
  refuseUnsafe,
  watchRowStream,
} from "@hyperdrive-kit/core/adapter";
import * as mysql2 from "mysql2";
import {
  type ConnectionOptions,
  type Connection as CoreConnection,
  createConnection,
  createPool,
  type PoolOptions,
} from "mysql2";
import type { Connection, Pool } from "mysql2/promise";

/** Fields that come from the Hyperdrive binding (or this adapter) and cannot be overridden. */
type BindingFields = "host" | "port" | "user" | "password" | "database" | "uri" | "socketPath" | "stream";

export interface Mysql2ConnectionOptions extends AttachOptions {
  /** Passed to mysql2's `createConnection()` after the binding's fields and `disableEval: true`. */
  client?: Omit<ConnectionOptions, BindingFields>;
  pool?: false;
}

export interface Mysql2PoolOptions extends AttachOptions {
  /** A per-request pool for parallel queries; `connectionLimit` defaults to 5 (Workers allow 6 per request). */
  pool: true;
  /** Passed to mysql2's `createPool()` after the binding's fields and `disableEval: true`. */
  client?: Omit<PoolOptions, BindingFields>;
}

export type Mysql2Options = Mysql2ConnectionOptions | Mysql2PoolOptions;

/**
 * The handle: mysql2's promise `Connection`, with the callback-API connection behind it as `connection` (there at
 * run time, absent from mysql2's own type of the promise `Connection`).
 */
export type Mysql2Connection = Connection & { readonly connection: CoreConnection };

/** `connectionLimit` of a per-request pool: one below the Workers limit of six connections per request. */
export const DEFAULT_CONNECTION_LIMIT = 5;

type Callback = (error: unknown, ...rest: unknown[]) => void;
/** mysql2 exports it but does not type it: builds a Query command without sending it. */
const createQuery = (mysql2 as unknown as { createQuery: (...args: unknown[]) => unknown }).createQuery;
type Method = (...args: unknown[]) => unknown;
/** The core (callback) connection's methods this adapter replaces on the instance, never on the prototype. */
interface Patchable {
  query: Method;
  execute: Method;
  prepare: Method;
  addCommand: Method;
  connect: Method;
  end: Method;
  /** A connection's ConnectionConfig, or a pool's PoolConfig (which holds one as `connectionConfig`). */
  config: { namedPlaceholders?: boolean; connectionConfig?: unknown };
}

/** mysql2's connection state that says whether a COM_QUIT would be sent at once (private: read defensively). */
interface CommandState {
  authorized?: boolean;
  _fatalError?: unknown;
  _command?: unknown;
  _commands?: { length: number };
}

/** Authenticated, healthy and idle: `end()` writes COM_QUIT now instead of queueing it. Unsure: false. */
function isIdle(connection: CoreConnection): boolean {
  const state = connection as unknown as CommandState;
  return state.authorized === true && !state._fatalError && !state._command && state._commands?.length === 0;
}

/** What `allowUnsafe` can name for mysql2: the refusals of `refuseUnsafeConfig` and object bind values. */
const MYSQL2_UNSAFE = ["disableEval", "multipleStatements", "ssl", "connectionLimit", "objectValues"];

function refuseUnsafeConfig(context: AdapterContext, client: ConnectionOptions & PoolOptions): void {
  if (client.disableEval === false) {
    refuseUnsafe(
      context,
      "mysql2",
      "disableEval",
      "`disableEval: false` was passed; mysql2 would compile row parsers with `new Function()`, which Workers refuse.",
      "HDK_EVAL_DISALLOWED",
    );
  }
  refuseCommonUnsafe(context, "mysql2", {
    multipleStatements: client.multipleStatements,
    ssl: client.ssl,
    connections: { option: "connectionLimit", value: client.connectionLimit, suggested: DEFAULT_CONNECTION_LIMIT },
  });
}

/**
 * Makes one core connection safe for Hyperdrive, on the instance: `execute()` becomes a client-side bound `query()`
 * (Hyperdrive answers COM_STMT_PREPARE with an error), `prepare()` fails before sending, and object bind values
 * are refused. Patching the core connection (not the promise wrapper) covers every path: the promise API, the
 * callback API behind `db.connection`, pool queries, and ORMs built on any of them.
 */
function makeHyperdriveSafe(context: AdapterContext, connection: CoreConnection): void {
  const c = connection as unknown as Patchable;
  const query = c.query;
  c.query = function (this: unknown, ...args: unknown[]) {
    const refusal = objectValuesRefusal(context, "mysql2", args, c.config.namedPlaceholders === true);
    if (refusal !== undefined) return refuse(refusal, args, c.config);
    const command = query.apply(this, args) as StreamedCommand;
    // Without a callback, rows come as events or through `stream()`: bounded per wait, its errors typed.
    if (command.onResult === undefined && !streamed.has(command)) {
      streamed.add(command);
      disarmQueryTracing(command);
      watchRowStream(context, command);
    }
    return command;
  };
  forwardFatalErrors(connection);
  c.execute = function (this: unknown, ...args: unknown[]) {
    const { values, named } = bindValuesOf(args, c.config.namedPlaceholders === true);
    // Keep execute()'s own argument check: query() would silently send undefined as NULL.
    if (!named && Array.isArray(values) && values.includes(undefined)) {
      throw new TypeError("Bind parameters must not contain undefined. To pass SQL NULL specify JS null");
    }
    return c.query.apply(this, args);
  };
  c.prepare = (_options: unknown, callback?: unknown) => {
    const error = new HyperdriveError("HDK_HYPERDRIVE_MYSQL_PREPARE_UNSUPPORTED", {
      driver: "mysql2",
      context: "`prepare()` was called; nothing was sent. `execute()` works: it sends a client-side bound `query()`.",
    });
    if (typeof callback !== "function") throw error;
    queueMicrotask(() => (callback as Callback)(error));
    return undefined;
  };
}

/** A Query command: `onResult` is its callback, absent when its rows stream as events. */
type StreamedCommand = EventEmitter & { onResult?: unknown };
/** Commands whose row stream is watched (a pool's query reaches its connection's `query()` with its command). */
const streamed = new WeakSet<object>();

/**
 * mysql2 hands a fatal error (a reset, a server gone, core's query timeout) to the running command only when it has a
 * callback; a streaming query (`query().stream()`, rows as events) never hears of it, and its stream neither ends nor
 * errs (`_notifyError` in mysql2's `base/connection.js` emits it on the connection instead). Given to the command
 * here, it ends the stream with that error.
 */
function forwardFatalErrors(connection: CoreConnection): void {
  connection.prependListener("error", (error: unknown) => {
    const command = (connection as unknown as { _command?: StreamedCommand })._command;
    const fatal = (error as { fatal?: unknown } | null)?.fatal === true;
    // Only to a command someone listens to for errors (its stream does): an unheard 'error' event would throw.
    if (!fatal || command === undefined || !streamed.has(command)) return;
    // Once mysql2 is done with the error (the connection closed): the stream's destroy resumes the connection.
    queueMicrotask(() => {
      if (command.listenerCount("error") > 0) command.emit("error", error);
    });
  });
}

/**
 * Reports a refusal where mysql2 reports errors: to the callback when there is one (later, as the driver does),
 * with an unsent Query in its place; else as a throw (the promise API turns that into a rejection).
 */
function refuse(error: unknown, args: readonly unknown[], config: unknown): unknown {
  const callback = args[args.length - 1];
  if (typeof callback !== "function") throw error;
  const [first, second] = args;
  const unsent = createQuery(first, typeof second === "function" ? undefined : second, undefined, config);
  queueMicrotask(() => (callback as Callback)(error));
  return unsent;
}

/**
 * A `net.Socket` that connects on the connection's first command, so building the handle does no I/O. The server
 * speaks first in MySQL, so mysql2 sends nothing before that. The attempt is reported to core, which bounds it by
 * the connect timeout: on expiry the socket emits the timeout as its error, which fails the handshake and the
 * queued commands, and mysql2 then ends the socket (destroying it here would leave an unhandled rejection in
 * workerd).
 *
 * workerd's `node:net`, not core's socket: mysqljs can only use `node:net`, and core's socket, given to mysql2,
 * hangs the isolate when mysql2 destroys it from a 'data' handler (after a parse error) and leaves unhandled
 * rejections after a client-side close. `node:net` leaves one only when destroyed during a read, which this adapter
 * never does.
 */
function lazySocket(context: AdapterContext, timeoutMs: number | undefined) {
  const { binding } = context;
  const socket = new Socket();
  let attempt: ConnectAttempt | undefined;
  let isClosed = false;
  const closed = new Promise<void>((resolve) =>
    socket.once("close", () => {
      isClosed = true;
      resolve();
    }),
  );
  return {
    socket,
    closed,
    get started() {
      return attempt !== undefined;
    },
    get isClosed() {
      return isClosed;
    },
    /**
     * Reports the handshake of `connection` (which uses this socket) to core: the handshake command's error, or
     * the socket's, or its closing before the handshake completed.
     */
    track(connection: CoreConnection) {
      const handshake = (connection as unknown as { _command?: EventEmitter })._command;
      let socketError: unknown;
      connection.once("connect", () => attempt?.succeeded());
      handshake?.once("error", (error: unknown) => attempt?.failed(error));
      socket.on("error", (error) => {
        socketError ??= error;
      });
      socket.once("close", () =>
        attempt?.failed(socketError ?? new Error("The connection closed before the handshake completed.")),
      );
    },
    start() {
      if (attempt !== undefined) return;
      attempt = context.connecting((error) => socket.emit("error", error), timeoutMs);
      socket.connect({ host: binding.host, port: binding.port });
      socket.setNoDelay(true);
    },
  };
}

const CONNECTION_QUERIES = [
  "query",
  "execute",
  "prepare",
  "beginTransaction",
  "commit",
  "rollback",
  "ping",
  "changeUser",
  "connect",
  "reset",
] as const;
/** What mysql2's promise API answers with a promise (the rest, `escape()`, `release()`, `on()`…, returns at once). */
const PROMISE_METHODS = new Set<PropertyKey>([...CONNECTION_QUERIES, "end", "getConnection"]);
const mysql2ReturnsPromise = (property: PropertyKey) => PROMISE_METHODS.has(property);
/** mysql2/promise's connections (`getConnection()`, `promise()`): the same API as the handle. */
const PROMISE_CONNECTION: GuardSpec = {
  queryMethods: CONNECTION_QUERIES,
  callIsQuery: false,
  returnsPromise: mysql2ReturnsPromise,
};
/** The callback API's connection (`db.connection`, a pool's `getConnection(cb)`). */
const CALLBACK_CONNECTION: GuardSpec = { queryMethods: CONNECTION_QUERIES, nodeCallbacks: true, callIsQuery: false };
/** A command returned by the callback API (`query()` without a callback streams rows through it). */
const COMMAND: GuardSpec = { queryMethods: [], callIsQuery: false };

/** The callback API's pool (`db.pool`): `getConnection(cb)`, `query(sql, cb)`. */
const CALLBACK_POOL: GuardSpec = { queryMethods: ["query", "execute"], nodeCallbacks: true, callIsQuery: false };

/** Binds what mysql2 gives out that can reach a socket; rows, fields and results pass untouched. */
const bindMysql2: Binder = (value) => {
  if (Array.isArray(value)) return undefined;
  const candidate = value as {
    addCommand?: unknown;
    connection?: { addCommand?: unknown };
    stream?: unknown;
    getConnection?: unknown;
    promise?: unknown;
  };
  if (typeof candidate.addCommand === "function") return CALLBACK_CONNECTION;
  if (typeof candidate.getConnection === "function" && typeof candidate.promise === "function") return CALLBACK_POOL;
  if (typeof candidate.connection?.addCommand === "function") return PROMISE_CONNECTION;
  if (value instanceof EventEmitter && typeof candidate.stream === "function") return COMMAND;
  return undefined;
};

/** One mysql2 promise `Connection` per request, connected on first use. */
export const mysql2ConnectionAdapter: Adapter<Mysql2Connection, Mysql2ConnectionOptions> = {
  driver: "mysql2",
  optionKeys: ["client", "pool"],
  unsafeOptions: MYSQL2_UNSAFE,
  open(context, options): OpenedClient<Mysql2Connection> {
    const client = options.client ?? {};
    refuseUnsafeConfig(context, client);
    const lazy = lazySocket(context, client.connectTimeout);
    const core = createConnection({
      ...client,
      ...connectionFields(context.binding),
      disableEval: client.disableEval ?? true,
      connectTimeout: 0, // core bounds the connect, from the first command on
      // Method shorthand and module-level helpers, not named arrows, in what runs per request: wrangler bundles with
      // esbuild's `keep_names`, which gives every named closure an `Object.defineProperty` call (see core's guard.ts).
      stream() {
        return lazy.socket;
      },
    });
    // An idle connection's failure (server restart, KILL) is emitted as 'error'; unhandled, it would throw.
    core.on("error", context.reportIdle);
    lazy.track(core);
    const c = core as unknown as Patchable;
    const { addCommand, connect, end } = c;
    // Every command (query, ping, transaction, quit…) goes through addCommand: the one place to start connecting.
    c.addCommand = function (this: unknown, command: unknown) {
      lazy.start();
      return addCommand.call(this, command);
    };
    c.connect = function (this: unknown, ...args: unknown[]) {
      lazy.start();
      return connect.apply(this, args);
    };
    c.end = function (this: unknown, callback?: unknown) {
      if (lazy.started) return end.call(this, callback);
      // Never connected: connecting only to say goodbye would be wasted I/O.
      core.destroy();
      if (typeof callback === "function") queueMicrotask(() => (callback as Callback)(undefined));
      return undefined;
    };
    makeHyperdriveSafe(context, core);
    return {
      client: core.promise() as Mysql2Connection,
      ...PROMISE_CONNECTION,
      bind: bindMysql2,
      // Fails the running command and every queued one with the timeout; mysql2 then ends the socket.
      abort(error) {
        lazy.socket.emit("error", error);
      },
      close() {
        if (!lazy.started || lazy.isClosed) {
          core.destroy();
          return undefined;
        }
        if (isIdle(core)) {
          // COM_QUIT goes out now, as with the docs' `ctx.waitUntil(connection.end())`, and the server closes its
          // side; the runtime drops ours when the invocation ends. Waiting for the server's close (or only for the
          // write) cost 2-5% per request at 0 ms in the bench, for nothing the request could use.
          c.end(() => {});
          return undefined;
        }
        return closeBusy(c, lazy);
      },
    };
  },
};

/**
 * COM_QUIT, and the server closes the socket. end()'s callback is not enough: after a failed handshake mysql2 queues
 * the Quit behind a command that never finishes, but the socket does close.
 */
function closeBusy(connection: Patchable, lazy: ReturnType<typeof lazySocket>): Promise<void> {
  connection.end(() => {});
  return awaitServerClose(lazy.closed, () => lazy.socket.destroy());
}

/**
 * workerd's `TracingChannel.hasSubscribers` is a method, not Node's boolean getter, so mysql2 always traces a
 * connection's handshake; and workerd's `tracePromise()` leaves an unhandled rejection behind when the traced promise
 * fails, although mysql2 catches it. A pool's connection emits its handshake failure as 'error' (a single
 * connection hands it to the queued command instead), so every failed pool connect would log one. The tracing
 * listener is the first 'error' listener the connection's constructor registers, before the pool's own and the one
 * of the `connect()` the pool calls: removed, the traced promise never settles, and nothing is left unhandled.
 */
function disarmHandshakeTracing(connection: EventEmitter | undefined): void {
  if (!WORKERD_TRACING_QUIRK) return;
  const listeners = connection?.rawListeners("error") ?? [];
  if (listeners.length === 3) connection?.removeListener("error", listeners[0] as (...args: unknown[]) => void);
}

/**
 * The same quirk for a query without a callback: mysql2 traces it with `tracePromise()` over a promise that rejects
 * on the command's 'error', and workerd leaves that rejection unhandled when the command fails (a stream cut by a
 * reset). Its listener is the only 'error' listener the command has when `query()` returns: removed, the traced
 * promise never settles, and nothing is left unhandled.
 */
function disarmQueryTracing(command: EventEmitter): void {
  if (!WORKERD_TRACING_QUIRK) return;
  for (const listener of command.rawListeners("error"))
    command.removeListener("error", listener as (...args: unknown[]) => void);
}

/** The connection a pool's `getConnection()` has just created (the last of its connections). */
function newestConnection(pool: unknown): EventEmitter | undefined {
  const all = (pool as { _allConnections?: { size(): number; get(index: number): unknown } })._allConnections;
  return all?.get(all.size() - 1) as EventEmitter | undefined;
}

/**
 * Reports a pool connection's handshake to core as the connection itself ends it, before the pool's callback runs:
 * the pool answers a connect that ends after `pool.end()` with "Pool is closed." whatever happened, which would
 * report a refused connect during an outage as a closed pool.
 */
function reportHandshake(connection: EventEmitter, attempt: ConnectAttempt): void {
  // Methods, not named closures, which wrangler's keep_names wraps on every call (bench's scripts/names.ts).
  const listeners = {
    failed(error: unknown) {
      connection.removeListener("connect", listeners.succeeded);
      attempt.failed(error);
    },
    succeeded() {
      connection.removeListener("error", listeners.failed);
      attempt.succeeded();
    },
  };
  connection.prependOnceListener("error", listeners.failed);
  connection.prependOnceListener("connect", listeners.succeeded);
}

const WORKERD_TRACING_QUIRK = (() => {
  const channel = diagnosticsChannel.tracingChannel?.("mysql2:connect") as { hasSubscribers?: unknown } | undefined;
  return typeof channel?.hasSubscribers === "function";
})();

/** A mysql2 promise `Pool` per request (`connectionLimit: 5`) for queries that run in parallel. */
export const mysql2PoolAdapter: Adapter<Pool, Mysql2PoolOptions> = {
  driver: "mysql2",
  optionKeys: ["client", "pool"],
  unsafeOptions: MYSQL2_UNSAFE,
  open(context, options): OpenedClient<Pool> {
    const client = options.client ?? {};
    refuseUnsafeConfig(context, client);
    const { binding } = context;
    const sockets = new Set<Socket>();
    /** The attempt whose socket the pool created during the current, synchronous `getConnection()` call. */
    let created: ConnectAttempt | undefined;
    const pool = createPool({
      connectionLimit: DEFAULT_CONNECTION_LIMIT,
      ...client,
      ...connectionFields(context.binding),
      disableEval: client.disableEval ?? true,
      connectTimeout: 0, // core bounds each connect
      // The pool opens connections on demand (never in createPool), so an eager socket is fine here.
      stream() {
        const socket = new Socket();
        sockets.add(socket);
        socket.once("close", () => sockets.delete(socket));
        created = context.connecting((error) => socket.emit("error", error), client.connectTimeout);
        socket.on("error", () => {}); // mysql2 handles it; this one outlives mysql2's removal of its own
        socket.connect({ host: binding.host, port: binding.port });
        socket.setNoDelay(true);
        return socket;
      },
    });
    pool.on("connection", (connection) => {
      connection.on("error", context.reportIdle);
      makeHyperdriveSafe(context, connection);
    });
    // Every path to a connection (query, execute, getConnection, the promise API) goes through getConnection: the
    // one place to learn how the connection the pool opened for it ended its handshake.
    const p = pool as unknown as Patchable & { getConnection: Method };
    const { query, execute, getConnection } = p;
    p.getConnection = function (this: unknown, ...args: unknown[]) {
      const callback = args[0] as Callback;
      let attempt: ConnectAttempt | undefined;
      created = undefined;
      const result = getConnection.call(this, (error: unknown, connection: unknown) => {
        if (attempt === undefined) return callback(error, connection);
        if (error) return callback(attempt.failed(error), connection);
        attempt.succeeded();
        return callback(error, connection);
      });
      attempt = created;
      created = undefined;
      if (attempt !== undefined) {
        const connection = newestConnection(pool);
        disarmHandshakeTracing(connection);
        if (connection !== undefined) reportHandshake(connection, attempt);
      }
      return result;
    };
    // Pool-level query()/execute() must refuse before a connection is even taken.
    const named = client.namedPlaceholders === true;
    p.query = function (this: unknown, ...args: unknown[]) {
      const refusal = objectValuesRefusal(context, "mysql2", args, named);
      return refusal === undefined ? query.apply(this, args) : refuse(refusal, args, p.config.connectionConfig);
    };
    p.execute = function (this: unknown, ...args: unknown[]) {
      const refusal = objectValuesRefusal(context, "mysql2", args, named);
      return refusal === undefined ? execute.apply(this, args) : refuse(refusal, args, p.config.connectionConfig);
    };
    return {
      client: pool.promise(),
      queryMethods: ["query", "execute"],
      resolvesBound: ["getConnection"],
      callIsQuery: false,
      returnsPromise: mysql2ReturnsPromise,
      bind: bindMysql2,
      abort(error) {
        for (const socket of sockets) socket.emit("error", error);
      },
      close() {
        const all = (pool as unknown as { _allConnections?: { size(): number; get(index: number): CoreConnection } })
          ._allConnections;
        const connections = all ? Array.from({ length: all.size() }, (_, index) => all.get(index)) : undefined;
        // Every connection idle and healthy: their COM_QUITs go out now, as a single connection's does (see there).
        if (connections?.length === sockets.size && connections.every(isIdle)) {
          pool.end(() => {});
          return undefined;
        }
        return new Promise<void>((resolve) => pool.end(() => resolve())).then(async () => {
          await Promise.all([...sockets].map((socket) => new Promise((resolve) => socket.once("close", resolve))));
        });
      },
    };
  },
};

const withConnection = createWithHyperdrive(mysql2ConnectionAdapter);
const withPool = createWithHyperdrive(mysql2PoolAdapter);

/**
 * Runs `fn` with a request-scoped mysql2 promise `Connection` (or, with `{ pool: true }`, a `Pool` of up to 5
 * connections) on the Hyperdrive binding, and closes it through `ctx.waitUntil` once the work has settled.
 */
export function withHyperdrive<Result>(
  env: unknown,
  ctx: ExecutionContextLike,
  fn: (db: Mysql2Connection, scope: RequestScope) => Result | Promise<Result>,
  options?: WithHyperdriveOptions<Mysql2ConnectionOptions>,
): Promise<Result>;
export function withHyperdrive<Result>(
  env: unknown,
  ctx: ExecutionContextLike,
  fn: (db: Pool, scope: RequestScope) => Result | Promise<Result>,
  options: WithHyperdriveOptions<Mysql2PoolOptions>,
): Promise<Result>;
export function withHyperdrive<Result>(
  env: unknown,
  ctx: ExecutionContextLike,
  fn: (db: never, scope: RequestScope) => Result | Promise<Result>,
  options?: WithHyperdriveOptions<Mysql2Options>,
): Promise<Result> {
  return options?.pool === true
    ? withPool(env, ctx, fn as (db: Pool, scope: RequestScope) => Result | Promise<Result>, options)
    : withConnection(env, ctx, fn as (db: Mysql2Connection, scope: RequestScope) => Result | Promise<Result>, options);
}
