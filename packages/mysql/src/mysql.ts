import { EventEmitter } from "node:events";
import { isHyperdriveError, toHyperdriveError } from "@hyperdrive-kit/core";
import {
  type Adapter,
  type AdapterContext,
  type AttachOptions,
  type Binder,
  type ConnectAttempt,
  connectionFields,
  createWithHyperdrive,
  type GuardSpec,
  type OpenedClient,
  objectValuesRefusal,
  refuseCommonUnsafe,
  watchRowStream,
} from "@hyperdrive-kit/core/adapter";
import * as mysql from "mysql";
import { type Connection, type ConnectionConfig, createConnection, type FieldInfo, type QueryOptions } from "mysql";

/** Fields that come from the Hyperdrive binding and cannot be overridden. */
type BindingFields = "host" | "port" | "user" | "password" | "database" | "socketPath";

export interface MysqlOptions extends AttachOptions {
  /** Passed to mysqljs `createConnection()` after the binding's fields. */
  client?: Omit<ConnectionConfig, BindingFields>;
}

/** What the handle adds to a mysqljs `Connection`: promises, for code that does not use callbacks. */
export interface MysqlPromises {
  /** `query()` as a promise of `[results, fields]` (the shape of mysql2/promise). */
  queryAsync<Results = unknown>(
    sql: string | QueryOptions,
    values?: unknown,
  ): Promise<[Results, FieldInfo[] | undefined]>;
  /** Connects once; every later call (and every query) shares that handshake. */
  connect(): Promise<void>;
  /** Sends COM_QUIT once the queued queries have run. */
  end(): Promise<void>;
}

/** The handle: mysqljs's own `Connection` (callbacks and streaming unchanged) plus {@link MysqlPromises}. */
export type MysqlConnection = MysqlPromises & Connection;

type Callback = (error: unknown, ...rest: unknown[]) => void;
/** mysqljs exports it but its types do not: builds a Query without enqueuing it. */
const createQuery = (mysql as unknown as { createQuery: (...args: unknown[]) => unknown }).createQuery;
type Method = (...args: unknown[]) => unknown;
/** The connection's methods this adapter replaces on the instance, never on the prototype. */
interface Patchable {
  query: Method;
  connect: Method;
  end: Method;
  queryAsync?: Method;
  /** mysqljs's protocol reads `trace` when it enqueues a command. */
  config: { queryFormat?: unknown; trace: boolean };
}

/**
 * Reports a refusal where mysqljs reports errors: to the callback when there is one (later, as the driver does),
 * with an unsent Query in its place; else (the row emitter) as a throw, since nobody listens yet.
 */
function refuse(error: unknown, args: readonly unknown[]): unknown {
  const callback = args[args.length - 1];
  if (typeof callback !== "function") throw error;
  const [first, second] = args;
  const unsent = createQuery(first, typeof second === "function" ? undefined : second);
  queueMicrotask(() => (callback as Callback)(error));
  return unsent;
}

/**
 * A promise for `connect()` / `end()` called without a callback, with errors mapped like the guard maps queries'.
 * It is marked handled: mysqljs code calls both without waiting, and an ignored rejection would be reported as
 * unhandled; whoever awaits it still gets the error.
 */
function settled(context: AdapterContext, promise: Promise<void>): Promise<void> {
  const mapped = promise.catch((error: unknown) => {
    throw mapError(context, error);
  });
  mapped.catch(() => {});
  return mapped;
}

/** Passes a promise's outcome to a Node-style callback, with errors mapped like the guard maps queries'. */
function toCallback(context: AdapterContext, promise: Promise<void>, callback: Callback): void {
  promise.then(
    () => callback(null),
    (error: unknown) => callback(mapError(context, error)),
  );
}

/**
 * Decides the object-values refusal for `query()` and `queryAsync()`. Returns before the driver is called, so it adds
 * no frame to the stack mysqljs captures. With a custom queryFormat, an object of values is a map of named values, as
 * in mysqljs's own example.
 */
function refusalOf(context: AdapterContext, connection: Patchable, args: readonly unknown[]): unknown {
  return objectValuesRefusal(context, "mysql", args, typeof connection.config.queryFormat === "function");
}

/** The end of a handshake, as mysqljs's `connect()` callback reports it: to core, then to whoever waits. */
function handshakeDone(attempt: ConnectAttempt, handshake: PromiseWithResolvers<void>, error: unknown): void {
  if (error) handshake.reject(attempt.failed(error));
  else {
    attempt.succeeded();
    handshake.resolve();
  }
}

function mapError(context: AdapterContext, error: unknown): unknown {
  const mapped = toHyperdriveError(error, { driver: "mysql", secrets: context.secrets, inRequest: true });
  return isHyperdriveError(mapped) ? mapped : error;
}

/** Teardown's COM_QUIT: no mysqljs timer (0 turns it off). */
const QUIT = { timeout: 0 };

interface NetworkErrorHandler {
  _handleNetworkError(error: Error): void;
}

/** A `Query` (rows stream through it as events) and its `stream()`: reading resumes the connection's socket. */
const STREAMING: GuardSpec = { queryMethods: [], callIsQuery: false };

/** The handle's calls that return a promise when called without a callback. */
const PROMISE_CALLS = new Set<PropertyKey>(["queryAsync", "connect", "end"]);
const returnsPromise = (property: PropertyKey) => PROMISE_CALLS.has(property);

/** Binds what mysqljs gives out that can reach a socket; rows and fields pass untouched. */
const bindMysql: Binder = (value) => {
  if (!(value instanceof EventEmitter)) return undefined;
  const candidate = value as { stream?: unknown; pipe?: unknown; read?: unknown };
  // A Query, or its stream() (readable-stream 2's Readable, not node:stream's).
  const readable = typeof candidate.pipe === "function" && typeof candidate.read === "function";
  return typeof candidate.stream === "function" || readable ? STREAMING : undefined;
};

/**
 * One mysqljs `Connection` per request. mysqljs connects on the first query by itself; the handle makes `connect()`
 * idempotent (a second handshake is PROTOCOL_ENQUEUE_HANDSHAKE_TWICE), refuses object bind values and adds promises.
 */
export const mysqlAdapter: Adapter<MysqlConnection, MysqlOptions> = {
  driver: "mysql",
  optionKeys: ["client"],
  unsafeOptions: ["multipleStatements", "ssl", "objectValues"],
  open(context, options): OpenedClient<MysqlConnection> {
    const client = options.client ?? {};
    refuseCommonUnsafe(context, "mysql", { multipleStatements: client.multipleStatements, ssl: client.ssl });
    const { binding } = context;
    const connection = createConnection({
      ...client,
      // Armed below for the whole handshake instead: mysqljs's own covers only the TCP connect, which succeeds at
      // once both locally and in production (the Worker connects to Hyperdrive, not to the database), so a database
      // that never answers the handshake would hang the request.
      connectTimeout: 0,
      ...connectionFields(binding),
    });
    // A fatal error with no callback to take it (an idle connection killed) is emitted as 'error'; unhandled, it throws.
    connection.on("error", context.reportIdle);
    // 'end' is emitted once the connection is gone: after COM_QUIT, a server close or a fatal error.
    const ended = new Promise<void>((resolve) => connection.once("end", () => resolve()));

    const c = connection as unknown as Patchable;
    const { connect, end, query } = c;
    // Callbacks inline, methods in shorthand, helpers at module level: wrangler bundles with esbuild's `keep_names`,
    // which gives every named closure an `Object.defineProperty` call per request (see core's guard.ts).
    let connecting: Promise<void> | undefined;
    // mysqljs's implicit connect (first query) calls `this.connect()`, so it lands here too. mysqljs captures a stack
    // trace per command (its `trace` option) and V8 pays per frame: the driver's `connect` is called from here, and
    // each promise is made before the call it waits for, so no helper or Promise executor adds a frame.
    c.connect = (first?: unknown, second?: unknown) => {
      const callback = typeof first === "function" ? first : second;
      if (connecting === undefined) {
        // mysqljs's own timeout covers only the TCP connect (see above); core bounds the whole handshake. On expiry,
        // mysqljs's own network-error path fails the handshake and the queued queries, then ends (never destroys)
        // the socket.
        const attempt = context.connecting(
          (error) => (connection as unknown as NetworkErrorHandler)._handleNetworkError(error),
          client.connectTimeout,
        );
        const handshake = Promise.withResolvers<void>();
        connecting = handshake.promise;
        // The queued queries get the same error; this copy must not become an unhandled rejection.
        connecting.catch(() => {});
        const args: unknown[] = typeof first === "function" || first === undefined ? [] : [first];
        args.push((error: unknown) => handshakeDone(attempt, handshake, error));
        // A throw fails the promise, as it did from inside a Promise executor.
        try {
          connect.apply(connection, args);
        } catch (error) {
          handshakeDone(attempt, handshake, error);
        }
      }
      if (typeof callback !== "function") return settled(context, connecting);
      toCallback(context, connecting, callback as Callback);
      return undefined;
    };
    c.query = function (this: unknown, ...args: unknown[]) {
      const refusal = refusalOf(context, c, args);
      if (refusal !== undefined) return refuse(refusal, args);
      const sent = query.apply(this, args) as EventEmitter & { _callback?: unknown };
      // Without a callback, rows come as events or through `stream()`: bounded per wait, its errors typed.
      if (sent._callback === undefined) watchRowStream(context, sent);
      return sent;
    };
    c.end = function (this: unknown, first?: unknown, second?: unknown) {
      const callback = typeof first === "function" ? first : second;
      const endOptions = typeof first === "function" ? undefined : first;
      const promise = new Promise<void>((resolve, reject) =>
        end.call(this, endOptions, (error: unknown) => (error ? reject(error) : resolve())),
      );
      if (typeof callback !== "function") return settled(context, promise);
      toCallback(context, promise, callback as Callback);
      return undefined;
    };
    c.queryAsync = (sql: unknown, values?: unknown) => {
      const reply = Promise.withResolvers<[unknown, unknown]>();
      const args = values === undefined ? [sql] : [sql, values];
      args.push((error: unknown, results: unknown, fields: unknown) =>
        error ? reply.reject(error) : reply.resolve([results, fields]),
      );
      try {
        // What `c.query` does, not a call to it: one frame less in each query's captured stack.
        const refusal = refusalOf(context, c, args);
        if (refusal === undefined) query.apply(connection, args);
        else refuse(refusal, args);
      } catch (error) {
        reply.reject(error);
      }
      return reply.promise;
    };

    return {
      client: connection as unknown as MysqlConnection,
      nodeCallbacks: true,
      callIsQuery: false,
      // Without a callback these return a promise: a lifecycle error rejects it instead of being thrown.
      returnsPromise,
      bind: bindMysql,
      // Fails the running query and every queued one; mysqljs then ends the socket.
      abort(error) {
        (connection as unknown as NetworkErrorHandler)._handleNetworkError(error);
      },
      // connect() and end() map their own errors: the guard's mapping would wrap their promises in unhandled ones.
      queryMethods: [
        "query",
        "queryAsync",
        "ping",
        "statistics",
        "changeUser",
        "beginTransaction",
        "commit",
        "rollback",
      ],
      close() {
        if (connecting === undefined) return undefined; // never connected: there is no socket
        // COM_QUIT after the queued queries; on a connection that already failed, end() reports that at once. Then
        // wait for the server's close, as mysqljs's own `end()` callback does: left to the runtime, the socket can be
        // reset with COM_QUIT still on its way, and the server then handles an aborted connection (in the bench, with
        // a 2 ms delay, that cost 12% against the docs' code; not waiting saved nothing at 0 ms).
        // Without mysqljs's own 30 s timer (core bounds teardown) and without its call-site capture: teardown's
        // errors are reported by core, never with that stack, and a capture costs V8 per frame (see `c.connect`).
        const trace = c.config.trace;
        c.config.trace = false;
        try {
          end.call(connection, QUIT, () => {});
        } finally {
          c.config.trace = trace;
        }
        return ended;
      },
    };
  },
};

/**
 * Runs `fn` with a request-scoped mysqljs `Connection` on the Hyperdrive binding (callbacks as usual, plus
 * `queryAsync()`, and promises from `connect()` / `end()` without a callback), and closes it through
 * `ctx.waitUntil` once the work has settled.
 */
export const withHyperdrive = createWithHyperdrive(mysqlAdapter);
