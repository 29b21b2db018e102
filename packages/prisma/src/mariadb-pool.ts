import { Socket } from "node:net";
import { HyperdriveError } from "@hyperdrive-kit/core";
import {
  type Adapter,
  type AdapterContext,
  type AttachOptions,
  connectionFields,
  type GuardSpec,
  type OpenedClient,
  refuseCommonUnsafe,
  SERVER_CLOSE_GRACE_MS,
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
 */
function requestPool(context: AdapterContext, options: MariadbPoolOptions) {
  const limit = options.connectionLimit ?? DEFAULT_CONNECTION_LIMIT;
  const { connectTimeout, ...client } = options.client ?? {};
  const { binding } = context;
  const all = new Set<Open>();
  const idle: Open[] = [];
  /** Queries waiting for a connection while `connectionLimit` are in use. */
  const waiters: Array<{ resolve: (open: Open) => void; reject: (error: unknown) => void }> = [];
  let opening = 0;

  const open = async (): Promise<Open> => {
    const socket = new Socket();
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    const attempt = context.connecting((error) => socket.destroy(error), connectTimeout);
    opening++;
    try {
      const connection = await createConnection({
        ...client,
        ...connectionFields(binding),
        connectTimeout: 0, // core bounds the connect
        stream: () => socket.connect({ host: binding.host, port: binding.port }),
      });
      attempt.succeeded();
      const entry = { connection, socket, closed };
      all.add(entry);
      // A connection that fails while idle (a KILL, a restart) leaves the pool; unhandled, the error would throw.
      connection.on("error", (error: unknown) => {
        drop(entry);
        context.reportIdle(error);
      });
      return entry;
    } catch (error) {
      socket.destroy();
      throw attempt.failed(error);
    } finally {
      opening--;
    }
  };
  const drop = (entry: Open) => {
    all.delete(entry);
    const at = idle.indexOf(entry);
    if (at >= 0) idle.splice(at, 1);
    // A connection lost while others wait for one: open its replacement for the first of them.
    const next = waiters.shift();
    if (next) open().then(next.resolve, next.reject);
  };
  const acquire = async (): Promise<Open> => {
    for (let entry = idle.pop(); entry !== undefined; entry = idle.pop()) {
      if (entry.connection.isValid()) return entry;
      drop(entry);
    }
    if (all.size + opening < limit) return open();
    return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
  };
  const release = (entry: Open) => {
    if (!all.has(entry)) return;
    if (!entry.connection.isValid()) return drop(entry);
    const next = waiters.shift();
    if (next) next.resolve(entry);
    else idle.push(entry);
  };
  /** Runs one statement on a connection of the pool; `execute()` too, as a client-side bound `query()`. */
  const query = async (sql: unknown, values?: unknown) => {
    const entry = await acquire();
    try {
      return await entry.connection.query(sql as string, values);
    } finally {
      release(entry);
    }
  };
  const lend = (entry: Open): PooledConnection => {
    let released = false;
    const { connection } = entry;
    return {
      query: (sql, values) => connection.query(sql as string, values),
      execute: (sql, values) => connection.query(sql as string, values),
      beginTransaction: () => connection.beginTransaction(),
      commit: () => connection.commit(),
      rollback: () => connection.rollback(),
      on: (event, listener) => connection.on(event as "error", listener),
      off: (event, listener) => connection.off(event as "error", listener),
      release: async () => {
        if (released) return;
        released = true;
        release(entry);
      },
    };
  };
  const pool: RequestPool = {
    query,
    execute: query,
    getConnection: async () => lend(await acquire()),
    end: async () => {},
  };
  const failWaiters = (error: unknown) => {
    for (const waiter of waiters.splice(0)) waiter.reject(error);
  };
  const close = async () => {
    failWaiters(new HyperdriveError("HDK_HANDLE_AFTER_TEARDOWN", { driver: "mariadb" }));
    const entries = [...all];
    all.clear();
    idle.length = 0;
    await Promise.all(
      entries.map(async ({ connection, socket, closed }) => {
        // COM_QUIT, and the server closes the socket; a peer that does not is closed after the same grace as core's.
        connection.end().catch(() => {});
        let grace: ReturnType<typeof setTimeout> | undefined;
        const ended = await Promise.race([
          closed.then(() => true),
          new Promise<false>((resolve) => {
            grace = setTimeout(() => resolve(false), SERVER_CLOSE_GRACE_MS);
          }),
        ]);
        clearTimeout(grace);
        if (!ended) {
          socket.destroy();
          await closed;
        }
      }),
    );
  };
  const abort = (error: HyperdriveError) => {
    failWaiters(error);
    for (const { socket } of all) socket.destroy(error);
  };
  return { pool, close, abort };
}

/** Binds the connections the pool lends (a Prisma transaction's) to the request, like the pool itself. */
const bindLent = (value: object) =>
  typeof (value as { release?: unknown; query?: unknown }).release === "function" ? CONNECTION : undefined;

/** A per-request pool of `mariadb` connections for `@prisma/adapter-mariadb`, connected on first use. */
export const mariadbPoolAdapter: Adapter<RequestPool, MariadbPoolOptions> = {
  driver: "mariadb",
  optionKeys: ["client", "connectionLimit"],
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
    const { pool, close, abort } = requestPool(context, options);
    return {
      client: pool,
      queryMethods: ["query", "execute", "getConnection"],
      resolvesBound: ["getConnection"],
      callIsQuery: false,
      bind: bindLent,
      abort,
      close,
    };
  },
};
