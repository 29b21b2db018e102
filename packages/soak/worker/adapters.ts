/** The six adapter modes, each used the way its driver's users write it. */
import { withHyperdrive as mysql } from "@hyperdrive-kit/mysql";
import { withHyperdrive as mysql2 } from "@hyperdrive-kit/mysql2";
import { withHyperdrive as pg } from "@hyperdrive-kit/pg";
import { withHyperdrive as postgres } from "@hyperdrive-kit/postgres";
import type { Connection as MysqlConnection } from "mysql";
import type { Connection as Mysql2Callback } from "mysql2";
import type { Connection as Mysql2Connection, Pool as Mysql2Pool, RowDataPacket } from "mysql2/promise";
import type { Client, Pool, PoolClient } from "pg";
import Cursor from "pg-cursor";
import type { Sql } from "postgres";
import { handleOptions, type Statements, type Target } from "./target.ts";

type MysqlHandle = MysqlConnection & { queryAsync(sql: string): Promise<[unknown, unknown]> };

/**
 * Reads a row stream (mysql's and mysql2's `query().stream()`) slowly, as a slow consumer would: paused while a row
 * is handled. Events, not `for await`: mysqljs's stream comes from readable-stream 2, which is not async iterable.
 */
function eachRow(stream: NodeJS.ReadableStream, each: (n: number) => Promise<void>): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.on("error", reject);
    stream.on("end", resolve);
    stream.on("data", (row) => {
      stream.pause();
      // resume() on a handle whose request has ended throws: that must reject this read, not go unhandled.
      each(Number((row as unknown as { n: number }).n))
        .then(() => stream.resume())
        .catch(reject);
    });
  });
}

/** pg-cursor on one client, five rows a read, closed on every path. */
async function pgCursor(client: Client | PoolClient, sql: Statements, each: (n: number) => Promise<void>) {
  const cursor = client.query(new Cursor<{ n: number }>(sql.rows));
  try {
    for (;;) {
      const rows = await cursor.read(5);
      if (rows.length === 0) return;
      for (const row of rows) await each(row.n);
    }
  } finally {
    await cursor.close().catch(() => {});
  }
}

const pgClient: Target<Client> = {
  dialect: "postgres",
  run: (env, ctx, fn) => pg(env, ctx, fn, handleOptions("postgres")),
  rows: (client, text) => client.query(text).then((result) => result.rows.length),
  // node-postgres's own transaction idiom (its docs): begin, work, commit; on any error, roll back and rethrow.
  async transaction(client, sql) {
    try {
      await client.query("begin");
      await client.query(sql.insert(1));
      await client.query(sql.sleep(0.2));
      await client.query("commit");
    } catch (error) {
      await client.query("rollback").catch(() => {});
      throw error;
    }
  },
  cursor: pgCursor,
};

const pgPool: Target<Pool> = {
  dialect: "postgres",
  run: (env, ctx, fn) => pg(env, ctx, fn, { ...handleOptions("postgres"), pool: true }),
  rows: (pool, text) => pool.query(text).then((result) => result.rows.length),
  // A checked-out client for the transaction, released in `finally` (node-postgres's docs).
  async transaction(pool, sql) {
    const client = await pool.connect();
    try {
      await client.query("begin");
      await client.query(sql.insert(2));
      await client.query(sql.sleep(0.2));
      await client.query("commit");
    } catch (error) {
      await client.query("rollback").catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  },
  async cursor(pool, sql, each) {
    const client = await pool.connect();
    try {
      await pgCursor(client, sql, each);
    } finally {
      client.release();
    }
  },
};

const postgresJs: Target<Sql> = {
  dialect: "postgres",
  run: (env, ctx, fn) => postgres(env, ctx, fn, handleOptions("postgres")),
  rows: (sql, text) => sql.unsafe(text).then((rows) => rows.length),
  // Postgres.js: `begin()` commits when the callback resolves and rolls back when it throws.
  transaction: (sql, statements) =>
    sql.begin(async (tx) => {
      await tx.unsafe(statements.insert(3));
      await tx.unsafe(statements.sleep(0.2));
    }),
  async cursor(sql, statements, each) {
    for await (const rows of sql.unsafe<{ n: number }[]>(statements.rows).cursor(5)) {
      for (const row of rows) await each(row.n);
    }
  },
};

/** The callback connection under mysql2's promise wrapper (untyped there), where its row stream lives. */
const callbackConnection = (db: object) => (db as { connection: Mysql2Callback }).connection;

const mysql2Connection: Target<Mysql2Connection> = {
  dialect: "mysql",
  run: (env, ctx, fn) => mysql2(env, ctx, fn, handleOptions("mysql")),
  rows: (db, text) => db.query<RowDataPacket[]>(text).then(([rows]) => rows.length),
  // mysql2/promise's idiom: beginTransaction, work, commit; rollback on error.
  async transaction(db, sql) {
    try {
      await db.beginTransaction();
      await db.query(sql.insert(4));
      await db.query(sql.sleep(0.2));
      await db.commit();
    } catch (error) {
      await db.rollback().catch(() => {});
      throw error;
    }
  },
  cursor: (db, sql, each) => eachRow(callbackConnection(db).query(sql.rows).stream(), each),
};

const mysql2Pool: Target<Mysql2Pool> = {
  dialect: "mysql",
  run: (env, ctx, fn) => mysql2(env, ctx, fn, { ...handleOptions("mysql"), pool: true }),
  rows: (pool, text) => pool.query<RowDataPacket[]>(text).then(([rows]) => rows.length),
  async transaction(pool, sql) {
    const connection = await pool.getConnection();
    try {
      await connection.beginTransaction();
      await connection.query(sql.insert(5));
      await connection.query(sql.sleep(0.2));
      await connection.commit();
    } catch (error) {
      await connection.rollback().catch(() => {});
      throw error;
    } finally {
      connection.release();
    }
  },
  async cursor(pool, sql, each) {
    const connection = await pool.getConnection();
    try {
      await eachRow(callbackConnection(connection).query(sql.rows).stream(), each);
    } finally {
      connection.release();
    }
  },
};

/** mysqljs's callback transaction, as its README writes it, wrapped in one promise. */
function mysqlTransaction(db: MysqlHandle, sql: Statements): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (error: unknown) => db.rollback(() => reject(error));
    db.beginTransaction((error) => {
      if (error) return reject(error);
      db.query(sql.insert(6), (error) => {
        if (error) return fail(error);
        db.query(sql.sleep(0.2), (error) => {
          if (error) return fail(error);
          db.commit((error) => (error ? fail(error) : resolve()));
        });
      });
    });
  });
}

const mysqlConnection: Target<MysqlHandle> = {
  dialect: "mysql",
  run: (env, ctx, fn) => mysql(env, ctx, (db) => fn(db as MysqlHandle), handleOptions("mysql")),
  rows: (db, text) => db.queryAsync(text).then(([rows]) => (rows as unknown[]).length),
  transaction: mysqlTransaction,
  cursor: (db, sql, each) => eachRow(db.query(sql.rows).stream(), each),
};

export const adapters = {
  pg: pgClient,
  "pg-pool": pgPool,
  postgres: postgresJs,
  mysql2: mysql2Connection,
  "mysql2-pool": mysql2Pool,
  mysql: mysqlConnection,
} as Record<string, Target<unknown>>;
