import { Buffer } from "node:buffer";
import { catalog, classify, HyperdriveError, isHyperdriveError } from "@hyperdrive-kit/core";
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
  refuseCommonUnsafe,
  refuseUnsafe,
  SELF_CALL,
  SERVER_CLOSE_GRACE_MS,
  socketPool,
  type WorkerSocket,
} from "@hyperdrive-kit/core/adapter";
import postgres from "postgres";

/** Fields that come from the Hyperdrive binding, and the socket this adapter provides. */
type BindingFields =
  | "host"
  | "hostname"
  | "port"
  | "path"
  | "user"
  | "username"
  | "pass"
  | "password"
  | "database"
  | "db"
  | "socket";

export type PostgresClientOptions = Omit<postgres.Options<Record<string, postgres.PostgresType>>, BindingFields>;

export interface PostgresOptions extends AttachOptions {
  /** Passed to `postgres()`, merged over Hyperdrive's defaults `{ max: 5, fetch_types: false, prepare: true }`. */
  client?: PostgresClientOptions;
}

export type Sql = postgres.Sql<Record<string, never>>;
type TransactionSql = postgres.TransactionSql<Record<string, never>>;

/** Cloudflare's recommended Postgres.js options for Hyperdrive. */
export const HYPERDRIVE_DEFAULTS = { max: 5, fetch_types: false, prepare: true } as const;

export const postgresAdapter: Adapter<Sql, PostgresOptions> = {
  driver: "postgres",
  optionKeys: ["client"],
  unsafeOptions: ["prepare", "max", "ssl", "min"],
  open(context, options): OpenedClient<Sql> {
    const client = options.client ?? {};
    if (client.prepare === false) {
      refuseUnsafe(context, "postgres", "prepare", "`prepare: false` was passed.", "HDK_PREPARE_FALSE_DEFEATS_CACHING");
    }
    refuseCommonUnsafe(context, "postgres", {
      ssl: client.ssl,
      connections: { option: "max", value: client.max, suggested: HYPERDRIVE_DEFAULTS.max },
    });
    const { min } = client as { min?: number };
    if (min !== undefined && min > 0) {
      refuseUnsafe(
        context,
        "postgres",
        "min",
        `\`min: ${min}\` (Postgres.js 4) opens and keeps connections the request may never use; each is a Hyperdrive connection and counts towards the Workers limit of six per request. Remove it (the safe value is 0, the default).`,
      );
    }
    const { binding } = context;
    const sockets = socketPool(context.reportIdle);
    // Core's bound on one connect attempt: `client.connect_timeout` (seconds) when given, else `connectTimeoutMs`.
    const connectBoundMs = client.connect_timeout === undefined ? undefined : client.connect_timeout * 1000;
    const watch = new HandleWatch(context);
    // `socket` is a supported option that Postgres.js's types leave out.
    const config = {
      ...HYPERDRIVE_DEFAULTS,
      ...client,
      ...connectionFields(binding),
      ssl: client.ssl ?? false,
      // Core bounds each connect attempt (connectTimeoutMs). Postgres.js 4 also ends its retries of a failing connect
      // after `connect_timeout` (0 retries a transient failure forever): just above core's bound, so core's typed
      // error comes first. 3.x only arms its own timer with it, which core's outruns too.
      connect_timeout: ((connectBoundMs ?? context.connectTimeoutMs) + DRIVER_MARGIN_MS) / 1000,
      // Method shorthand and classes, not named arrows, in what runs per request: wrangler bundles with esbuild's
      // `keep_names`, which gives every named closure an `Object.defineProperty` call (see core's guard.ts).
      async socket() {
        // Raised when the database is first used, not when the handle is made: a handle that is never used works.
        if (watch.unsupported !== undefined) throw watch.unsupported;
        // Postgres.js writes its startup message as soon as it gets the socket; writes wait for the connection.
        // Postgres.js names the peer in its errors ("write CONNECTION_CLOSED host:port") from the socket's fields.
        const socket = Object.assign(sockets.create(), { host: binding.host, port: binding.port });
        const attempt = context.connecting((error) => socket.destroy(error), connectBoundMs);
        new ReadyWatch(socket, attempt, watch);
        return socket.connect(binding.port, binding.host);
      },
    };
    const sql = postgres(config as postgres.Options<Record<string, never>>) as unknown as Sql;
    const major = driverMajor(sql);
    watch.major = major;
    watch.unsupported = major === undefined ? unsupportedDriver() : undefined;
    // 3.4.x with `fetch_types: false` never hands a first connection to `reserve()` (see ReserveWaits).
    watch.reserves = new ReserveWaits(major === 3 && client.fetch_types !== true);
    if (major === 4 && (client as { queue_timeout?: number }).queue_timeout === undefined) {
      boundConnectionWaits(sql, (connectBoundMs ?? context.connectTimeoutMs) + DRIVER_MARGIN_MS, watch);
    }
    const cursors = new Set<OpenCursor>();
    return {
      client: sql,
      queryMethods: QUERY_METHODS,
      resolvesBound: ["reserve"],
      rejectionsMapped: ["begin"],
      returnsPromise: postgresReturnsPromise,
      lazyQueries: true,
      overrides: {
        reserve(this: Sql) {
          return watch.reserves.track(this.reserve());
        },
        begin(this: Sql, ...args: unknown[]) {
          return major === 3 ? holdingLostConnection(this, "begin", args) : Reflect.apply(this.begin, this, args);
        },
      },
      bind: bindPostgres(cursors, watch),
      abort(error) {
        watch.aborted = error;
        sockets.destroyAll(error);
      },
      async close() {
        // A cursor whose stream was cancelled (a client that disconnected) is never advanced nor returned: its query
        // stays open on the connection and `sql.end()` would wait for it forever. Teardown runs once the request's
        // work is done, so nothing will read these any more: close their portals (what `return()` does).
        for (const cursor of cursors) cursor.close();
        cursors.clear();
        // Anything else still running on the connection (a cursor mid-batch, a database gone mid-stream) is cut
        // after a short grace instead of holding teardown for its whole timeout.
        await sql.end({ timeout: END_GRACE_SECONDS });
        // sql.end() resolves before the sockets finish closing; a read still pending when the request ends
        // would surface as an unhandled rejection.
        await sockets.allClosed();
      },
    };
  },
};

/**
 * Calls that are one query each: timed, error-mapped, bounded by `queryTimeoutMs`. `begin()` and `savepoint()` are
 * not: a transaction is several queries (each one of the transaction's `sql` is guarded on its own).
 */
const QUERY_METHODS = ["unsafe", "reserve", "file"];

/** What answers with a promise (a misused handle then rejects): a tagged-template query, and these methods. */
const PROMISE_METHODS = new Set<PropertyKey>([...QUERY_METHODS, "begin", "savepoint", "end", "listen", "notify"]);

/** `sql```…`` (a template's strings array) is a query; `sql(value)` builds a helper (identifier, list) at once. */
function postgresReturnsPromise(property: PropertyKey, args: readonly unknown[]): boolean {
  if (property === SELF_CALL) return Array.isArray(args[0]) && Object.hasOwn(args[0], "raw");
  return PROMISE_METHODS.has(property);
}

/**
 * A transaction's or a savepoint's `sql`. `savepoint()` is several queries, not one, but its own SAVEPOINT and RELEASE
 * can meet Hyperdrive's errors: its rejection is mapped (as the handle's `begin()` is).
 */
const TRANSACTION: GuardSpec = {
  queryMethods: QUERY_METHODS,
  rejectionsMapped: ["savepoint"],
  returnsPromise: postgresReturnsPromise,
  lazyQueries: true,
};
/** A transaction's `sql` on 3.x: `savepoint()` keeps a lost connection's error from the driver (see below). */
const TRANSACTION_3: GuardSpec = {
  ...TRANSACTION,
  overrides: {
    savepoint(this: TransactionSql, ...args: unknown[]) {
      return holdingLostConnection(this, "savepoint", args);
    },
  },
};
/** `reserve()`'s `sql`: the handle's API on one connection, plus `release()`. */
const RESERVED: GuardSpec = {
  queryMethods: [...QUERY_METHODS, "release"],
  returnsPromise: postgresReturnsPromise,
  lazyQueries: true,
};
/**
 * A query not yet sent (Postgres.js runs it on `then`, `cursor`, `forEach`…): every method is checked. `cursor()`
 * ends the query's own bound: each read of the cursor is bounded instead (see `track`).
 */
const PENDING_QUERY: GuardSpec = {
  queryMethods: [],
  callIsQuery: false,
  cursorMethods: ["cursor"],
  overrides: {
    cursor(this: DriverQuery, ...args: unknown[]) {
      const made = Reflect.apply(this.cursor, this, args) as object;
      QUERY_OF.set(made, this);
      return made;
    },
  },
};
/** A cursor: iterating it reads from the connection. */
const CURSOR: GuardSpec = {
  queryMethods: [],
  callIsQuery: false,
  overrides: {
    [Symbol.asyncIterator](this: AsyncIterable<unknown>) {
      const iterator = this[Symbol.asyncIterator]();
      const query = QUERY_OF.get(this);
      if (query !== undefined) QUERY_OF.set(iterator, query);
      return iterator;
    },
  },
};

/** A Postgres.js 3 query as its cursor sees it: `executed` and no longer `active` once it ended or failed. */
interface DriverQuery {
  cursor(...args: unknown[]): unknown;
  executed?: boolean;
  active?: boolean;
}

/** The query behind a cursor's iterable and iterator. */
const QUERY_OF = new WeakMap<object, DriverQuery>();

/** How long `sql.end()` lets queries still running at teardown finish before it destroys their connections. */
const END_GRACE_SECONDS = SERVER_CLOSE_GRACE_MS / 1000;

/** How far the driver's own bounds sit above core's, so core's typed error always comes first. */
const DRIVER_MARGIN_MS = 50;

/** The iterator a cursor's `[Symbol.asyncIterator]()` makes: `return()` closes the cursor's portal. */
interface CursorIterator {
  next(): Promise<IteratorResult<unknown>>;
  return(): unknown;
}

/** A cursor's iterator as teardown closes it: now, or once the batch it is reading has arrived. */
interface OpenCursor {
  close(): void;
}

/**
 * Notes `iterator` in `cursors` until it is done, and makes each of its reads one bounded, typed wait for the server.
 * Postgres.js's `return()` closes the portal only between batches; during a `next()` it does nothing and the cursor
 * would wait for a reader forever, so `close()` also returns once the batch being read has arrived.
 *
 * A cursor never ends early without an error: Postgres.js 3 drops an error that reaches a cursor between two reads
 * (its next `next()` answers a plain `{ done: true }`, porsager/postgres `query.js` `cursor()`), so a `done` that no
 * batch announced is turned into the error that ended the connection.
 */
function track(cursors: Set<OpenCursor>, watch: HandleWatch, iterator: CursorIterator): void {
  let reading: Promise<unknown> | undefined;
  let finished = false;
  const { next, return: finish } = iterator;
  const query = QUERY_OF.get(iterator);
  const entry: OpenCursor = {
    close() {
      closePortal(iterator, finish, query);
      void reading?.then(
        () => closePortal(iterator, finish, query),
        () => {},
      );
    },
  };
  iterator.next = function (this: unknown) {
    const step = next.call(this) as Promise<IteratorResult<unknown>> | IteratorResult<unknown>;
    // A finished cursor's next() answers a plain `{ done: true }`, not a promise: early unless a read ended it.
    const result = watch.context.serverWait(
      step instanceof Promise ? step : finished ? Promise.resolve(step) : Promise.reject(watch.cursorCut()),
    );
    reading = result;
    void result.then(
      (read) => {
        if (!read.done) return;
        finished = true;
        cursors.delete(entry);
      },
      () => {
        finished = true;
        cursors.delete(entry);
      },
    );
    return result;
  };
  iterator.return = function (this: unknown) {
    finished = true;
    cursors.delete(entry);
    return closePortal(this, finish, query);
  };
  cursors.add(entry);
}

/**
 * A cursor's `return()`, unless its query has ended. On Postgres.js 3 `return()` lets the driver write the portal's
 * Close; when the connection closed between two reads (the query failed with it) that write goes to the socket the
 * driver dropped and throws `TypeError: Cannot read properties of null (reading 'write')` uncaught (see
 * `holdingLostConnection`).
 */
function closePortal(iterator: unknown, finish: () => unknown, query: DriverQuery | undefined): unknown {
  return query?.executed && !query.active ? { done: true } : finish.call(iterator);
}

/**
 * Binds what Postgres.js gives out that can reach a socket; rows, results and errors pass untouched. The iterators
 * cursors make are noted in `cursors`, so teardown can close the ones nobody finished.
 */
const bindPostgres =
  (cursors: Set<OpenCursor>, watch: HandleWatch): Binder =>
  (value) => {
    if (typeof value === "function") {
      const sql = value as Partial<TransactionSql>;
      if (typeof sql.unsafe !== "function") return undefined;
      // A transaction's or a savepoint's `sql` has `savepoint()`; `reserve()`'s has `release()`.
      if (typeof sql.savepoint !== "function") return RESERVED;
      return watch.major === 3 ? TRANSACTION_3 : TRANSACTION;
    }
    if (Array.isArray(value)) return undefined;
    const iterator = value as Partial<CursorIterator>;
    if (!(value instanceof Promise) && typeof iterator.next === "function" && typeof iterator.return === "function") {
      track(cursors, watch, value as CursorIterator);
      return undefined;
    }
    const candidate = value as { cursor?: unknown; [Symbol.asyncIterator]?: unknown };
    if (value instanceof Promise && typeof candidate.cursor === "function") return PENDING_QUERY;
    // The iterable `cursor()` returns, not the iterator it makes: an iterator made inside the request is advanced by
    // the response body's pull, which workerd may run outside the request's async context.
    if (typeof candidate[Symbol.asyncIterator] === "function") return CURSOR;
    return undefined;
  };

/**
 * Postgres.js 3.4.x answers a transaction (or savepoint) callback with ROLLBACK or COMMIT even when its connection
 * has closed by then. Its `closed()` sets the connection's `socket = null`; a write after that schedules `nextWrite()`
 * on a microtask that throws `TypeError: Cannot read properties of null (reading 'write')`, uncaught (raw driver too,
 * `cf/src/connection.js`). The callback's outcome (its value, the lost query's error, or any other reason: Kysely
 * rolls back with its own) reaches the driver only while the connection is open: a turn of the event loop later
 * (a close already under way has then rejected `begin()`, its race with the connection's `onclose`), never once
 * `begin()` has settled. A failure that ended the connection (a FATAL, a lost socket) waits for the close, up to a
 * grace; then the driver gets it and rolls back as usual.
 */
function holdingLostConnection(target: Sql | TransactionSql, method: "begin" | "savepoint", args: unknown[]): unknown {
  const run = (target as unknown as Record<typeof method, (...a: unknown[]) => unknown>)[method];
  const at = args.findIndex((arg) => typeof arg === "function");
  if (at === -1) return Reflect.apply(run, target, args);
  // A savepoint's connection is its transaction's: gone once the transaction's `begin()` has settled.
  const hold = new LostConnectionHold(args[at] as (sql: unknown) => unknown, HOLDS.get(target));
  args[at] = hold.callback;
  const result = Reflect.apply(run, target, args) as Promise<unknown>;
  return result.then(
    (value) => {
      hold.settled();
      return value;
    },
    (error: unknown) => {
      throw hold.settled() ?? error;
    },
  );
}

/** One transaction callback's outcome, kept from the driver while its connection may be closing. */
class LostConnectionHold {
  readonly callback: (sql: unknown) => Promise<unknown>;
  readonly #outer: LostConnectionHold | undefined;
  #lost: unknown;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #over = false;

  constructor(fn: (sql: unknown) => unknown, outer: LostConnectionHold | undefined) {
    this.#outer = outer;
    this.callback = (sql) =>
      new Promise((resolve, reject) => {
        HOLDS.set(sql as object, this);
        // As the driver runs a callback: an array of queries is awaited as a whole; a synchronous throw rejects.
        const ran = new Promise((done) => {
          const value = fn(sql);
          done(Array.isArray(value) ? Promise.all(value) : value);
        });
        ran.then(
          (value) => this.#handOver(() => resolve(value)),
          (error: unknown) => {
            if (this.over || !endedConnection(error)) return this.#handOver(() => reject(error));
            this.#lost = error;
            this.#timer = setTimeout(() => {
              if (!this.over) reject(error);
            }, SERVER_CLOSE_GRACE_MS);
          },
        );
      });
  }

  /** Settles the driver's callback a turn later, unless `begin()` has settled by then: its connection is gone. */
  #handOver(settle: () => void): void {
    if (this.over) return;
    this.#timer = setTimeout(() => {
      if (!this.over) settle();
    }, 0);
  }

  /** This `begin()` or savepoint, or one it runs in, has settled. */
  get over(): boolean {
    return this.#over || this.#outer?.over === true;
  }

  /** `begin()` settled: nothing still held is handed to the driver. Returns the failure held, to reject with. */
  settled(): unknown {
    this.#over = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    return this.#lost;
  }
}

/** The hold of the transaction or savepoint whose callback got this `sql`. */
const HOLDS = new WeakMap<object, LostConnectionHold>();

/** The error ended the connection: the server said FATAL (57P01…), or it is a connection or lifecycle error. */
function endedConnection(error: unknown): boolean {
  const severity = (error as { severity?: unknown } | null)?.severity;
  if (severity === "FATAL" || severity === "PANIC") return true;
  const classified = classify(error);
  return (
    classified.type === "catalog" &&
    (classified.entry.category === "connection" || classified.entry.category === "lifecycle")
  );
}

/** PostgreSQL's ReadyForQuery message: the end of the connection's startup. */
const READY_FOR_QUERY = 0x5a;
/** PostgreSQL's ErrorResponse message: during startup, the server's refusal. */
const ERROR_RESPONSE = 0x45;
/** PostgreSQL's Terminate message: the client's goodbye, after which the server closes the connection. */
const TERMINATE = Buffer.from([0x58, 0, 0, 0, 4]);

/** What one handle's connections and cursors share: its context, how it ended, its connections now open. */
class HandleWatch {
  readonly context: AdapterContext;
  /** Set when the installed Postgres.js is not one this adapter supports: the first connect fails with it. */
  unsupported: HyperdriveError | undefined;
  /** The error core discarded the connections with (a query timeout), if it did. */
  aborted: HyperdriveError | undefined;
  reserves = new ReserveWaits(false);
  /** Connections past their startup and not yet closed. */
  open = 0;
  /** The installed Postgres.js's major, `undefined` when unsupported. */
  major: 3 | 4 | undefined;

  constructor(context: AdapterContext) {
    this.context = context;
  }

  /** The error for a cursor that ended before its last batch: the handle's abort, else its lost connection. */
  cursorCut(): HyperdriveError {
    return (
      this.aborted ??
      new HyperdriveError("HDK_POSTGRES_CONNECTION_CLOSED", {
        driver: "postgres",
        context:
          "The cursor's connection failed between two reads, before the cursor's last batch (Postgres.js 3 drops the error that ended it): the rows read so far are not all the rows.",
        fix: catalog.HDK_POSTGRES_CONNECTION_CLOSED.fixInRequest,
      })
    );
  }
}

/**
 * Reports the connection attempt to core: established at the server's first ReadyForQuery (authentication and
 * startup done), failed if the socket errs or closes before it. Postgres.js has no event of its own for this.
 *
 * A socket error before that reaches the driver with the catalogue code of core's verdict (`HDK_CONNECT_REFUSED`,
 * `HDK_TIMEOUT`): Postgres.js 4 takes an error without a `code` for `CONNECTION_CLOSED`, a transient failure it
 * retries with backoff (`pool.js` `attempted()`), where this is a final one.
 *
 * A connection past its startup that the driver drops with a plain `destroy()` before writing anything on it is
 * ended with Terminate instead, as `end()` ends one. Postgres.js 4 drops so a connection whose startup ends after
 * `sql.end()` began (`pool.js` `opened()`), which parallel queries make common: the pool opens connections for them
 * and the queries finish on the first. Closed with its read pending, the socket made workerd report an unhandled
 * rejection no code can catch ("Stream was cancelled.", see core's socket.ts), about once per such request.
 */
class ReadyWatch {
  readonly #socket: WorkerSocket;
  readonly #attempt: ConnectAttempt;
  readonly #watch: HandleWatch;
  /** `#scan`, bound once: the listener removed is the one added. */
  readonly #onData: (chunk: Buffer) => void;
  readonly #emit: WorkerSocket["emit"];
  readonly #write: WorkerSocket["write"];
  readonly #destroy: WorkerSocket["destroy"];
  #pending = Buffer.alloc(0);
  #settled = false;
  #socketError: unknown;
  /** Past its startup, and nothing written since: a connection with nothing running on it. */
  #unused = false;

  constructor(socket: WorkerSocket, attempt: ConnectAttempt, watch: HandleWatch) {
    this.#socket = socket;
    this.#attempt = attempt;
    this.#watch = watch;
    this.#onData = this.#scan.bind(this);
    this.#emit = socket.emit;
    this.#write = socket.write;
    this.#destroy = socket.destroy;
    socket.emit = this.#emitting.bind(this) as WorkerSocket["emit"];
    socket.write = this.#writing.bind(this) as WorkerSocket["write"];
    socket.destroy = this.#destroying.bind(this) as WorkerSocket["destroy"];
    socket.on("data", this.#onData);
    socket.on("error", (error) => {
      this.#socketError ??= error;
    });
    void socket.whenClosed.then(() => this.#closed());
  }

  #emitting(event: string | symbol, ...args: unknown[]): boolean {
    if (event === "error" && !this.#settled) args[0] = finalFailure(args[0], this.#attempt.failed(args[0]));
    if (event === "close" && !this.#settled) {
      // A close with no error before it (the server's EOF, or a reset read as one) would reach Postgres.js 4 as a
      // plain CONNECTION_CLOSED, which its pool retries with backoff until the connect bound: it gets the error.
      if (this.#socketError === undefined) {
        const error = new Error("The connection closed before the handshake completed.");
        this.#emit.call(this.#socket, "error", finalFailure(error, this.#attempt.failed(error)));
      }
      this.#finish();
    }
    return this.#emit.call(this.#socket, event, ...args);
  }

  #writing(...args: Parameters<WorkerSocket["write"]>): boolean {
    this.#unused = false;
    return this.#write.apply(this.#socket, args);
  }

  #destroying(error?: unknown): WorkerSocket {
    if (error === undefined && this.#unused && this.#socket.writable) return this.#socket.end(TERMINATE);
    return this.#destroy.call(this.#socket, error);
  }

  #scan(chunk: Buffer): void {
    let pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    while (pending.length >= 5) {
      const length = pending.readUInt32BE(1);
      if (pending.length < length + 1) break;
      // The whole message: the driver's startup ends only then, a close before its last byte is a failed connect.
      if (pending[0] === READY_FOR_QUERY) {
        this.#finish();
        this.#unused = true;
        this.#attempt.succeeded();
        this.#watch.open++;
        void this.#socket.whenClosed.then(() => this.#watch.open--);
        this.#watch.reserves.opened(this.#socket);
        return;
      }
      // Postgres.js 4 retries a startup refused with 53300 (too many connections) until `connect_timeout`: the
      // socket fails first with core's verdict on the server's error, a code its pool takes as final (3.x: at once).
      if (pending[0] === ERROR_RESPONSE && this.#watch.major === 4) {
        const refusal = serverError(pending.subarray(5, length + 1));
        if (refusal.code === "53300") {
          this.#socket.destroy(this.#attempt.failed(refusal));
          return;
        }
      }
      pending = pending.subarray(length + 1);
    }
    this.#pending = pending;
  }

  #closed(): void {
    if (this.#settled) return;
    this.#finish();
    this.#attempt.failed(this.#socketError ?? new Error("The connection closed before the handshake completed."));
  }

  #finish(): void {
    this.#settled = true;
    this.#pending = Buffer.alloc(0);
    this.#socket.off("data", this.#onData);
    this.#socket.emit = this.#emit;
  }
}

/** The server's error from the fields of an ErrorResponse (`C` its SQLSTATE, `M` its message), as the drivers give it. */
function serverError(fields: Buffer): Error & { code: string } {
  const error = Object.assign(new Error(), { code: "" });
  // Each field: its type's byte, then its text up to a zero byte; a zero byte in place of a type ends them.
  for (let at = 0; fields[at]; ) {
    const end = fields.indexOf(0, at);
    if (end < 0) break;
    const value = fields.toString("utf8", at + 1, end);
    if (fields[at] === 0x43) error.code = value;
    if (fields[at] === 0x4d) error.message = value;
    at = end + 1;
  }
  return error;
}

/**
 * The socket error a failed connect hands the driver: the same error, with the code of core's verdict on it when it
 * has none (its message and cause unchanged, so the guard maps it as before, once).
 */
function finalFailure(error: unknown, verdict: unknown): unknown {
  if (!isHyperdriveError(verdict) || error === verdict) return error;
  if (typeof error === "object" && error !== null && "code" in error) return error;
  return Object.assign(new Error(error instanceof Error ? error.message : String(error), { cause: error }), {
    code: verdict.code,
  });
}

/**
 * The handle's `reserve()` calls still waiting for a connection, and the nudge that Postgres.js 3.4.x needs for them.
 *
 * Postgres.js 3.4.9 (porsager/postgres#1203, #751, #1219) with `fetch_types: false`: `reserve()` on a pool with no idle
 * connection starts a connection whose first job is the reserve, and at the end of the connection's startup
 * (its first ReadyForQuery) `ReadyForQuery` returns early when that job is a reserve: the connection is never
 * handed to it (nor marked open), so `reserve()` never settles and the connection sits idle on the server. With
 * `fetch_types: true` the array-type query runs first and the connection is handed over when it ends.
 *
 * The fix upstream (porsager/postgres#1220, not released) makes startup fall through to the pool's `onopen()`. The
 * driver already calls `onopen()` for an idle connection when its socket emits `drain`, so once a connection has
 * started (and the driver's own handling of that ReadyForQuery, microtasks included, has run), a `reserve()` still
 * waiting gets the same by a `drain` on that socket. A connection the driver put to work has a query running, and
 * `drain` does nothing to it; with a driver that hands the connection over itself, no `reserve()` is still waiting.
 */
class ReserveWaits {
  /** `fetch_types: false`: the only configuration the driver's bug reaches. */
  readonly #affected: boolean;
  #waiting = 0;

  constructor(affected: boolean) {
    this.#affected = affected;
  }

  /** Counts `reserved` as waiting until it settles; returns it untouched (core follows it and binds its result). */
  track<T>(reserved: Promise<T>): Promise<T> {
    if (!this.#affected) return reserved;
    this.#waiting++;
    // Inline callbacks, not a named one: see the note on `keep_names` above.
    void reserved.then(
      () => this.#waiting--,
      () => this.#waiting--,
    );
    return reserved;
  }

  /** A connection finished its startup: once the driver has handled it, hand it to a `reserve()` still waiting. */
  opened(socket: WorkerSocket): void {
    if (this.#waiting === 0) return;
    setTimeout(() => {
      if (this.#waiting > 0 && socket.readyState === "open") socket.emit("drain");
    }, 0);
  }
}

/**
 * The Postgres.js major behind `sql`, told apart by its API (the package says nothing of its version at run time):
 * 4.x has `sql.batch()` and `sql.identifier()`, 3.4.x has `sql.reserve()` and neither of those; `undefined` for
 * anything else (2.x, 3.0 to 3.3).
 */
export function driverMajor(sql: object): 3 | 4 | undefined {
  const candidate = sql as { batch?: unknown; identifier?: unknown; reserve?: unknown; begin?: unknown };
  if (typeof candidate.reserve !== "function" || typeof candidate.begin !== "function") return undefined;
  if (typeof candidate.batch === "function" && typeof candidate.identifier === "function") return 4;
  if (typeof candidate.batch === "function" || typeof candidate.identifier === "function") return undefined;
  return 3;
}

/** The error the first use of a handle gets when the installed Postgres.js is not supported. */
export function unsupportedDriver(): HyperdriveError {
  return new HyperdriveError("HDK_DRIVER_UNSUPPORTED", {
    driver: "postgres",
    context:
      "The installed `postgres` (Postgres.js) is neither 3.4.x nor 4.x; @hyperdrive-kit/postgres supports `>=3.4.5 <5`.",
    fix: "Install a supported Postgres.js (`npm i postgres@4`, or `postgres@3`), then check `npm ls postgres`: npm only warns about a peer range it cannot meet.",
  });
}

/**
 * Postgres.js 4 retries a connect that fails transiently to it (`CONNECTION_CLOSED`, `53300`) until `connect_timeout`
 * has passed since the first failure, checked only when a retry fails, and its backoff grows to seconds: a query
 * waiting for that connection would wait well past core's bound. The socket fails such connects with a final code
 * (see ReadyWatch); should one still be retried, `queue_timeout` (seconds, read when a query starts to wait) ends the
 * wait just above the bound (`QUEUE_TIMEOUT`, mapped to `HDK_TIMEOUT`). It applies only while the handle has no open
 * connection, so a query that waits for a busy one waits as on 3.x.
 */
function boundConnectionWaits(sql: Sql, boundMs: number, watch: HandleWatch): void {
  Object.defineProperty(sql.options, "queue_timeout", {
    configurable: true,
    enumerable: true,
    get() {
      return watch.open === 0 ? boundMs / 1000 : 0;
    },
  });
}

/**
 * Runs `fn` with a request-scoped Postgres.js `sql` on the Hyperdrive binding (`max: 5, fetch_types: false,
 * prepare: true`), and closes it through `ctx.waitUntil` once the work has settled.
 */
export const withHyperdrive = createWithHyperdrive(postgresAdapter);
