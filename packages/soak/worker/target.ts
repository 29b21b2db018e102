/** What a soak route needs from an adapter, a mode or an integration: how to open the handle and use it. */

export type Env = Record<"PG" | "MY", Hyperdrive>;
export type Dialect = "postgres" | "mysql";

/** The handle options every route uses: short bounds, so a fault is answered within a known time. */
export const CONNECT_TIMEOUT_MS = 3000;
export const QUERY_TIMEOUT_MS = 1500;
/** The rows of `soak_rows` the cursor reads, one every CURSOR_ROW_MS (longer than a query's bound in all). */
export const CURSOR_ROWS = 40;
export const CURSOR_ROW_MS = 50;

export const handleOptions = (dialect: Dialect) => ({
  binding: dialect === "postgres" ? "PG" : "MY",
  connectTimeoutMs: CONNECT_TIMEOUT_MS,
  queryTimeoutMs: QUERY_TIMEOUT_MS,
});

export interface Target<Db> {
  dialect: Dialect;
  /** Runs `fn` with a handle for this request (the adapter's or integration's own entry point). */
  run(env: Env, ctx: ExecutionContext, fn: (db: Db) => Promise<Response>): Promise<Response>;
  /**
   * Runs one statement; resolves to its row count. Not an async function: a synchronous throw from the driver's
   * call must stay one, so the kept-handle misuse can tell it from a rejection.
   */
  rows(db: Db, text: string): Promise<number>;
  /** A write and a short sleep in a transaction, written in the driver's or ORM's own idiom. */
  transaction(db: Db, sql: Statements): Promise<unknown>;
  /** Reads `select n from soak_rows order by n` through a cursor or stream, calling `each` per row. */
  cursor?(db: Db, sql: Statements, each: (n: number) => Promise<void>): Promise<unknown>;
}

/** The statements of one dialect. */
export interface Statements {
  one: string;
  sleep(seconds: number): string;
  insert(request: number): string;
  rows: string;
}

export const statements: Record<Dialect, Statements> = {
  postgres: {
    one: "select 1 as one",
    // `from pg_sleep()`, so the result has a column type every client maps (Prisma refuses `void`).
    sleep: (seconds) => `select 1 as slept from pg_sleep(${seconds})`,
    insert: (request) => `insert into soak_log (request) values (${request})`,
    rows: "select n from soak_rows order by n",
  },
  mysql: {
    one: "select 1 as one",
    sleep: (seconds) => `select sleep(${seconds}) as slept`,
    insert: (request) => `insert into soak_log (request) values (${request})`,
    rows: "select n from soak_rows order by n",
  },
};
