/**
 * A Kysely dialect for Postgres.js that Hyperdrive can cache: every query runs as a named prepared statement
 * (`unsafe(text, parameters, { prepare: true })`). `kysely-postgres-js` runs `unsafe()` with Postgres.js's default
 * `prepare: false`, which Cloudflare says defeats caching, and takes each connection with `reserve()`.
 * Transactions run inside Postgres.js's own `sql.begin()`, so they need no `reserve()` either.
 */
import {
  type CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from "kysely";
import type postgres from "postgres";

type Sql = postgres.Sql<Record<string, never>>;
type TransactionSql = postgres.TransactionSql<Record<string, never>>;
type Parameters = postgres.ParameterOrJSON<never>[];

const AFFECTS_ROWS = new Set(["INSERT", "UPDATE", "DELETE", "MERGE"]);

/** Kysely's `rollbackTransaction()`: the reason `sql.begin()`'s callback rejects with, so that it rolls back. */
const ROLLBACK = Symbol("rollback");

class PostgresJsConnection implements DatabaseConnection {
  readonly #sql: Sql;
  /** The open transaction: its `sql`, and how to end it. */
  #transaction: { tx: TransactionSql; end: (commit: boolean) => Promise<void> } | undefined;

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  async begin(settings: TransactionSettings): Promise<void> {
    const mode = [settings.isolationLevel && `isolation level ${settings.isolationLevel}`, settings.accessMode]
      .filter(Boolean)
      .join(" ");
    const started = Promise.withResolvers<TransactionSql>();
    const finish = Promise.withResolvers<void>();
    const done = this.#sql
      .begin(mode, async (tx) => {
        started.resolve(tx as TransactionSql);
        await finish.promise;
      })
      .then(
        () => {},
        (error: unknown) => {
          if (error !== ROLLBACK) throw error;
        },
      );
    // BEGIN failed: sql.begin() rejects before calling back.
    done.catch(started.reject);
    const tx = await started.promise;
    this.#transaction = {
      tx,
      end(commit) {
        if (commit) finish.resolve();
        else finish.reject(ROLLBACK);
        return done;
      },
    };
  }

  async end(commit: boolean): Promise<void> {
    const transaction = this.#transaction;
    this.#transaction = undefined;
    await transaction?.end(commit);
  }

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const target = this.#transaction?.tx ?? this.#sql;
    const result = await target.unsafe(compiled.sql, compiled.parameters as Parameters, { prepare: true });
    return {
      rows: [...result] as R[],
      numAffectedRows: AFFECTS_ROWS.has(result.command) ? BigInt(result.count) : undefined,
    };
  }

  async *streamQuery<R>(compiled: CompiledQuery, chunkSize = 100): AsyncIterableIterator<QueryResult<R>> {
    const target = this.#transaction?.tx ?? this.#sql;
    const query = target.unsafe(compiled.sql, compiled.parameters as Parameters, { prepare: true });
    for await (const rows of query.cursor(chunkSize)) yield { rows: [...rows] as R[] };
  }
}

class PostgresJsDriver implements Driver {
  readonly #sql: Sql;

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return new PostgresJsConnection(this.#sql);
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    await (connection as PostgresJsConnection).begin(settings);
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as PostgresJsConnection).end(true);
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as PostgresJsConnection).end(false);
  }

  async releaseConnection(): Promise<void> {}

  /** The request scope owns the connections: `db.destroy()` leaves them to it. */
  async destroy(): Promise<void> {}
}

/** Kysely's PostgreSQL dialect over a Postgres.js `sql`, with prepared (cacheable) statements. */
export class PostgresJsDialect implements Dialect {
  readonly #sql: Sql;

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  createAdapter(): DialectAdapter {
    return new PostgresAdapter();
  }

  createDriver(): Driver {
    return new PostgresJsDriver(this.#sql);
  }

  createQueryCompiler(): QueryCompiler {
    return new PostgresQueryCompiler();
  }

  // biome-ignore lint/suspicious/noExplicitAny: Kysely's own signature
  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new PostgresIntrospector(db);
  }
}
