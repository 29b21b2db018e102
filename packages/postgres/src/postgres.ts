import { Buffer } from "node:buffer";
import { HyperdriveError } from "@hyperdrive-kit/core";
import {
  type Adapter,
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
  unsafeOptions: ["prepare", "max", "ssl"],
  open(context, options): OpenedClient<Sql> {
    const client = options.client ?? {};
    if (client.prepare === false) {
      refuseUnsafe(context, "postgres", "prepare", "`prepare: false` was passed.", "HDK_PREPARE_FALSE_DEFEATS_CACHING");
    }
    refuseCommonUnsafe(context, "postgres", {
      ssl: client.ssl,
      connections: { option: "max", value: client.max, suggested: HYPERDRIVE_DEFAULTS.max },
    });
    const { binding } = context;
    const sockets = socketPool(context.reportIdle);
    const reserves = new ReserveWaits(client.fetch_types !== true);
    // `socket` is a supported option that Postgres.js's types leave out.
    const config = {
      ...HYPERDRIVE_DEFAULTS,
      ...client,
      ...connectionFields(binding),
      ssl: client.ssl ?? false,
      // Core bounds the whole connect (connectTimeoutMs); Postgres.js's own timer (30 s by default) is off.
      connect_timeout: 0,
      // Method shorthand and classes, not named arrows, in what runs per request: wrangler bundles with esbuild's
      // `keep_names`, which gives every named closure an `Object.defineProperty` call (see core's guard.ts).
      async socket() {
        // Postgres.js writes its startup message as soon as it gets the socket; writes wait for the connection.
        // Postgres.js names the peer in its errors ("write CONNECTION_CLOSED host:port") from the socket's fields.
        const socket = Object.assign(sockets.create(), { host: binding.host, port: binding.port });
        const attempt = context.connecting(
          (error) => socket.destroy(error),
          client.connect_timeout === undefined ? undefined : client.connect_timeout * 1000,
        );
        new ReadyWatch(socket, attempt, reserves);
        return socket.connect(binding.port, binding.host);
      },
    };
    const sql = postgres(config as postgres.Options<Record<string, never>>) as unknown as Sql;
    refuseUnsupportedDriver(sql);
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
          return reserves.track(this.reserve());
        },
      },
      bind: bindPostgres(cursors),
      abort(error) {
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
/** `reserve()`'s `sql`: the handle's API on one connection, plus `release()`. */
const RESERVED: GuardSpec = {
  queryMethods: [...QUERY_METHODS, "release"],
  returnsPromise: postgresReturnsPromise,
  lazyQueries: true,
};
/** A query not yet sent (Postgres.js runs it on `then`, `cursor`, `forEach`…): every method is checked. */
const PENDING_QUERY: GuardSpec = { queryMethods: [], callIsQuery: false };
/** A cursor: iterating it reads from the connection. */
const CURSOR: GuardSpec = { queryMethods: [], callIsQuery: false };

/** How long `sql.end()` lets queries still running at teardown finish before it destroys their connections. */
const END_GRACE_SECONDS = SERVER_CLOSE_GRACE_MS / 1000;

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
 * Notes `iterator` in `cursors` until it is done. Postgres.js's `return()` closes the portal only between batches;
 * during a `next()` it does nothing and the cursor would wait for a reader forever, so `close()` also returns once
 * the batch being read has arrived.
 */
function track(cursors: Set<OpenCursor>, iterator: CursorIterator): void {
  let reading: Promise<unknown> | undefined;
  const { next, return: finish } = iterator;
  const entry: OpenCursor = {
    close() {
      finish.call(iterator);
      void reading?.then(
        () => finish.call(iterator),
        () => {},
      );
    },
  };
  iterator.next = function (this: unknown) {
    // Postgres.js answers a finished cursor's next() with a plain `{ done: true }`, not a promise.
    const result = Promise.resolve(next.call(this));
    reading = result;
    void result.then(
      (step) => step.done && cursors.delete(entry),
      () => cursors.delete(entry),
    );
    return result;
  };
  iterator.return = function (this: unknown) {
    cursors.delete(entry);
    return finish.call(this);
  };
  cursors.add(entry);
}

/**
 * Binds what Postgres.js gives out that can reach a socket; rows, results and errors pass untouched. The iterators
 * cursors make are noted in `cursors`, so teardown can close the ones nobody finished.
 */
const bindPostgres =
  (cursors: Set<OpenCursor>): Binder =>
  (value) => {
    if (typeof value === "function") {
      const sql = value as Partial<TransactionSql>;
      if (typeof sql.unsafe !== "function") return undefined;
      // A transaction's or a savepoint's `sql` has `savepoint()`; `reserve()`'s has `release()`.
      return typeof sql.savepoint === "function" ? TRANSACTION : RESERVED;
    }
    if (Array.isArray(value)) return undefined;
    const iterator = value as Partial<CursorIterator>;
    if (!(value instanceof Promise) && typeof iterator.next === "function" && typeof iterator.return === "function") {
      track(cursors, value as CursorIterator);
      return undefined;
    }
    const candidate = value as { cursor?: unknown; [Symbol.asyncIterator]?: unknown };
    if (value instanceof Promise && typeof candidate.cursor === "function") return PENDING_QUERY;
    // The iterable `cursor()` returns, not the iterator it makes: an iterator made inside the request is advanced by
    // the response body's pull, which workerd may run outside the request's async context.
    if (typeof candidate[Symbol.asyncIterator] === "function") return CURSOR;
    return undefined;
  };

/** PostgreSQL's ReadyForQuery message: the end of the connection's startup. */
const READY_FOR_QUERY = 0x5a;

/**
 * Reports the connection attempt to core: established at the server's first ReadyForQuery (authentication and
 * startup done), failed if the socket errs or closes before it. Postgres.js has no event of its own for this.
 */
class ReadyWatch {
  readonly #socket: WorkerSocket;
  readonly #attempt: ConnectAttempt;
  readonly #reserves: ReserveWaits;
  /** `#scan`, bound once: the listener removed is the one added. */
  readonly #onData: (chunk: Buffer) => void;
  #pending = Buffer.alloc(0);
  #settled = false;
  #socketError: unknown;

  constructor(socket: WorkerSocket, attempt: ConnectAttempt, reserves: ReserveWaits) {
    this.#socket = socket;
    this.#attempt = attempt;
    this.#reserves = reserves;
    this.#onData = this.#scan.bind(this);
    socket.on("data", this.#onData);
    socket.on("error", (error) => {
      this.#socketError ??= error;
    });
    void socket.whenClosed.then(() => this.#closed());
  }

  #scan(chunk: Buffer): void {
    let pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    while (pending.length >= 5) {
      const length = pending.readUInt32BE(1);
      if (pending[0] === READY_FOR_QUERY) {
        this.#finish();
        this.#attempt.succeeded();
        this.#reserves.opened(this.#socket);
        return;
      }
      if (pending.length < length + 1) break;
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
  }
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
 * Refuses Postgres.js 4.x, before any I/O. Its pool retries a failed connect with backoff and ignores the
 * `socket` contract this adapter relies on (a closed port hung for over a minute instead of failing at once with
 * `HDK_CONNECT_REFUSED`). 4.x is told apart by `sql.batch()` and `sql.identifier()`, which 3.x does not have.
 */
export function refuseUnsupportedDriver(sql: object): void {
  const candidate = sql as { batch?: unknown; identifier?: unknown };
  if (typeof candidate.batch !== "function" || typeof candidate.identifier !== "function") return;
  throw new HyperdriveError("HDK_INVALID_OPTION", {
    driver: "postgres",
    context:
      "The installed `postgres` (Postgres.js) is 4.x; @hyperdrive-kit/postgres supports Postgres.js 3.x (`>=3.4.5 <4`): with 4.x a database that refuses connections hangs the request instead of failing.",
    fix: "Install Postgres.js 3: `npm i postgres@3` (npm only warns about the peer range, so check `npm ls postgres`).",
  });
}

/**
 * Runs `fn` with a request-scoped Postgres.js `sql` on the Hyperdrive binding (`max: 5, fetch_types: false,
 * prepare: true`), and closes it through `ctx.waitUntil` once the work has settled.
 */
export const withHyperdrive = createWithHyperdrive(postgresAdapter);
