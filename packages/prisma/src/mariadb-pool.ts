import { Socket } from "node:net";
import { HyperdriveError, isHyperdriveError } from "@hyperdrive-kit/core";
import {
  type Adapter,
  type AdapterContext,
  type AttachOptions,
  awaitServerClose,
  connectionFields,
  type GuardSpec,
  type OpenedClient,
  refuseCommonUnsafe,
} from "@hyperdrive-kit/core/adapter";
import { type Connection, type ConnectionConfig, createConnection } from "mariadb";

/** Fields that come from the Hyperdrive binding (or this adapter) and cannot be overridden. */
type BindingFields = "host" | "port" | "user" | "password" | "database" | "socketPath" | "stream";

export interface MariadbPoolOptions extends AttachOptions {
  /** Passed to each of the pool's `mariadb.createConnection()` calls after the binding's fields. */
  client?: Omit<ConnectionConfig, BindingFields>;
  /** Connections the request's pool opens at most. Default 5 (Workers allow 6 per request). */
  connectionLimit?: number;
}

/** `connectionLimit` of a per-request pool: one below the Workers limit of six connections per request. */
export const DEFAULT_CONNECTION_LIMIT = 5;

/** What `@prisma/adapter-mariadb` uses of a `mariadb` pool, and what this package's request pool gives it. */
export interface RequestPool {
  query(sql: unknown, values?: unknown): Promise<unknown>;
  /** A client-side bound `query()`: Hyperdrive refuses COM_STMT_PREPARE, so nothing is prepared. */
  execute(sql: unknown, values?: unknown): Promise<unknown>;
  getConnection(): Promise<PooledConnection>;
  end(): Promise<void>;
}

/** A connection lent by the request pool until `release()`. */
export interface PooledConnection {
  query(sql: unknown, values?: unknown): Promise<unknown>;
  execute(sql: unknown, values?: unknown): Promise<unknown>;
  beginTransaction(): Promise<void>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
  release(): Promise<void>;
}

const QUERIES = ["query", "execute", "beginTransaction", "commit", "rollback"] as const;
const CONNECTION: GuardSpec = { queryMethods: QUERIES, callIsQuery: false };

interface Open {
  connection: Connection;
  socket: Socket;
  closed: Promise<void>;
}

/**
 * One request's connections to the database through the Hyperdrive binding, opened on demand (none until the first
 * query) up to `connectionLimit`, over the text protocol only. Not `mariadb.createPool()`: its pool opens
 * `minimumIdle` connections as soon as it is made, retries a failed connect until `initializationTimeout` and makes
 * queries wait `acquireTimeout` meanwhile, so a database that is down would answer after seconds instead of at once.
 *
 * A class, and method shorthand in the objects it gives out: wrangler bundles with esbuild's `keep_names`, which gives
 * every named closure an `Object.defineProperty` call per request (see core's guard.ts).
 */
class RequestConnections {
  readonly #context: AdapterContext;
  readonly #limit: number;
  readonly #connectTimeout: number | undefined;
  readonly #client: Omit<ConnectionConfig, BindingFields | "connectTimeout">;
  readonly #all = new Set<Open>();
  readonly #idle: Open[] = [];
  /** Queries waiting for a connection while `connectionLimit` are in use. */
  readonly #waiters: Array<{ resolve: (open: Open) => void; reject: (error: unknown) => void }> = [];
  #opening = 0;
  /** Set once a connect of this request ran out its bound: later ones fail at once (see `#acquire`). */
  #timedOut: number | undefined;

  constructor(context: AdapterContext, options: MariadbPoolOptions) {
    const { connectTimeout, ...client } = options.client ?? {};
    this.#context = context;
    this.#limit = options.connectionLimit ?? DEFAULT_CONNECTION_LIMIT;
    this.#connectTimeout = connectTimeout;
    this.#client = client;
  }

  /** The pool `@prisma/adapter-mariadb` is given. */
  pool(): RequestPool {
    const connections = this;
    return {
      query(sql, values) {
        return connections.query(sql, values);
      },
      execute(sql, values) {
        return connections.query(sql, values);
      },
      async getConnection() {
        return connections.#lend(await connections.#acquire());
      },
      async end() {},
    };
  }

  /** Runs one statement on a connection of the pool; `execute()` too, as a client-side bound `query()`. */
  async query(sql: unknown, values?: unknown): Promise<unknown> {
    const entry = await this.#acquire();
    try {
      return await entry.connection.query(sql as string, values);
    } finally {
      this.#release(entry);
    }
  }

  async close(): Promise<void> {
    this.#failWaiters(new HyperdriveError("HDK_HANDLE_AFTER_TEARDOWN", { driver: "mariadb" }));
    const entries = [...this.#all];
    const idle = new Set(this.#idle);
    this.#all.clear();
    this.#idle.length = 0;
    await Promise.all(entries.map((entry) => (idle.has(entry) ? closeOne(entry) : closeBusy(entry))));
  }

  abort(error: HyperdriveError): void {
    this.#failWaiters(error);
    for (const { socket } of this.#all) socket.destroy(error);
  }

  async #open(): Promise<Open> {
    const context = this.#context;
    const { binding } = context;
    let lost!: (error: unknown) => void;
    const lostBeforeEstablished = new Promise<never>((_, reject) => {
      lost = reject;
    });
    const socket = new SetUpSocket(lost);
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    const attempt = context.connecting((error) => socket.destroy(error), this.#connectTimeout);
    this.#opening++;
    try {
      const connection = await Promise.race([
        createConnection({
          ...this.#client,
          ...connectionFields(binding),
          connectTimeout: 0, // core bounds the connect
          stream() {
            return socket.connect({ host: binding.host, port: binding.port });
          },
        }),
        lostBeforeEstablished,
      ]);
      socket.established();
      attempt.succeeded();
      const entry = { connection, socket, closed };
      this.#all.add(entry);
      // A connection that fails while idle (a KILL, a restart) leaves the pool; unhandled, the error would throw.
      connection.on("error", (error: unknown) => {
        this.#drop(entry);
        context.reportIdle(error);
      });
      return entry;
    } catch (error) {
      socket.destroy();
      const failure = attempt.failed(error);
      if (isHyperdriveError(failure) && failure.code === "HDK_TIMEOUT") {
        this.#timedOut = this.#connectTimeout ?? context.connectTimeoutMs;
      }
      throw failure;
    } finally {
      this.#opening--;
    }
  }

  #drop(entry: Open): void {
    this.#all.delete(entry);
    const at = this.#idle.indexOf(entry);
    if (at >= 0) this.#idle.splice(at, 1);
    // A connection lost while others wait for one: open its replacement for the first of them.
    const next = this.#waiters.shift();
    if (next) this.#open().then(next.resolve, next.reject);
  }

  async #acquire(): Promise<Open> {
    for (let entry = this.#idle.pop(); entry !== undefined; entry = this.#idle.pop()) {
      if (entry.connection.isValid()) return entry;
      this.#drop(entry);
    }
    if (this.#timedOut !== undefined) throw this.#timeoutAgain();
    if (this.#all.size + this.#opening < this.#limit) return this.#open();
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /**
   * A request waits for one connect bound, not one per query: `@prisma/adapter-mariadb` asks `SELECT VERSION()` first
   * and ignores its failure, so a database that does not answer made the query wait the bound a second time.
   */
  #timeoutAgain(): HyperdriveError {
    return new HyperdriveError("HDK_TIMEOUT", {
      driver: "mariadb",
      context: `An earlier connection of this request was not established within ${this.#timedOut} ms (connectTimeoutMs); this one was not tried.`,
    });
  }

  #release(entry: Open): void {
    if (!this.#all.has(entry)) return;
    if (!entry.connection.isValid()) {
      this.#drop(entry);
      return;
    }
    const next = this.#waiters.shift();
    if (next) next.resolve(entry);
    else this.#idle.push(entry);
  }

  #lend(entry: Open): PooledConnection {
    const connections = this;
    let released = false;
    const { connection } = entry;
    return {
      query(sql, values) {
        return connection.query(sql as string, values);
      },
      execute(sql, values) {
        return connection.query(sql as string, values);
      },
      beginTransaction() {
        return connection.beginTransaction();
      },
      commit() {
        return connection.commit();
      },
      rollback() {
        return connection.rollback();
      },
      on(event, listener) {
        return connection.on(event as "error", listener);
      },
      off(event, listener) {
        return connection.off(event as "error", listener);
      },
      async release() {
        if (released) return;
        released = true;
        connections.#release(entry);
      },
    };
  }

  #failWaiters(error: unknown): void {
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
  }
}

/**
 * The socket of a connection the `mariadb` driver is still opening. After the handshake the driver runs its set-up
 * statements (`SET NAMES`, `initSql`, `sessionVariables`…) in a promise chain whose failure it re-throws into a
 * promise nobody holds: a connection lost there (the connect bound, a reset, a KILL) became an unhandled rejection
 * (`HDK_TIMEOUT`, `SqlError` 45009/45030) while the request got the same error through `createConnection()`. Until
 * the connection is established, its loss goes to `lost` (which fails the connect) and not to the driver, which is
 * left with a connection that never settles and is dropped; afterwards the socket is an ordinary one.
 */
class SetUpSocket extends Socket {
  #lost: ((error: unknown) => void) | undefined;

  constructor(lost: (error: unknown) => void) {
    super();
    this.#lost = lost;
  }

  established(): void {
    this.#lost = undefined;
  }

  override emit(event: string | symbol, ...args: unknown[]): boolean {
    const lost = this.#lost;
    if (lost === undefined || (event !== "error" && event !== "end")) return super.emit(event, ...args);
    this.#lost = undefined;
    lost(event === "error" ? args[0] : new Error("The server closed the connection before it was established."));
    if (event === "end") this.destroy();
    return true;
  }
}

/** COM_QUIT, and the server closes the socket; a peer that does not is closed after the same grace as core's. */
/**
 * A connection still running a query at teardown (teardown waited `teardownTimeoutMs` for it): `end()` would mark it
 * closing, after which the `mariadb` driver ignores its socket's loss and the query never settles. Failing the socket
 * fails the query, typed by the guard.
 */
function closeBusy({ socket, closed }: Open): Promise<void> {
  socket.destroy(new Error("The connection was closed by teardown while a query still ran on it."));
  return closed;
}

function closeOne({ connection, socket, closed }: Open): Promise<void> {
  connection.end().catch(() => {});
  return awaitServerClose(closed, () => socket.destroy());
}

/** The pool as the guard sees it: getConnection() resolves to a connection bound like the pool. */
const POOL: GuardSpec = {
  queryMethods: ["query", "execute", "getConnection"],
  resolvesBound: ["getConnection"],
  callIsQuery: false,
};

/** Binds the connections the pool lends (a Prisma transaction's) to the request, like the pool itself. */
const bindLent = (value: object) =>
  typeof (value as { release?: unknown; query?: unknown }).release === "function" ? CONNECTION : undefined;

/** A per-request pool of `mariadb` connections for `@prisma/adapter-mariadb`, connected on first use. */
export const mariadbPoolAdapter: Adapter<RequestPool, MariadbPoolOptions> = {
  driver: "mariadb",
  optionKeys: ["client", "connectionLimit"],
  unsafeOptions: ["multipleStatements", "ssl", "connectionLimit"],
  open(context, options): OpenedClient<RequestPool> {
    const client = options.client ?? {};
    refuseCommonUnsafe(context, "mariadb", {
      multipleStatements: client.multipleStatements,
      ssl: client.ssl,
      connections: { option: "connectionLimit", value: options.connectionLimit, suggested: DEFAULT_CONNECTION_LIMIT },
    });
    if (client.permitLocalInfile) {
      throw new HyperdriveError("HDK_UNSAFE_OPTION", {
        driver: "mariadb",
        context: "`permitLocalInfile` reads files of the client's host: a Worker has none to give.",
      });
    }
    const connections = new RequestConnections(context, options);
    return {
      client: connections.pool(),
      ...POOL,
      bind: bindLent,
      abort(error) {
        connections.abort(error);
      },
      close() {
        return connections.close();
      },
    };
  },
};
