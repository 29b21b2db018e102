/**
 * The raw code the bench compares against, per driver and mode: as Cloudflare's docs write it (`docs`: close through
 * `ctx.waitUntil(client.end())`) and the same without closing (`floor`: Cloudflare's current advice, the runtime
 * drops the socket when the invocation ends).
 */
import mysql from "mysql";
import { createConnection as createMysql2Connection, createPool as createMysql2Pool } from "mysql2/promise";
import pg from "pg";
import postgres from "postgres";
import type { Query } from "./queries.ts";

export type Variant = "docs" | "floor";

export type RawRoute = (binding: Hyperdrive, ctx: ExecutionContext, query: Query, closing: boolean) => Promise<unknown>;

const close = (ctx: ExecutionContext, closing: boolean, end: () => Promise<unknown>) => {
  if (closing) ctx.waitUntil(end());
};

const mysqlConfig = (binding: Hyperdrive) => ({
  host: binding.host,
  port: binding.port,
  user: binding.user,
  password: binding.password,
  database: binding.database,
});

export const raw: Record<string, RawRoute> = {
  async pg(binding, ctx, query, closing) {
    const client = new pg.Client({ connectionString: binding.connectionString });
    await client.connect();
    const { rows } = await client.query(query.pg, query.values);
    close(ctx, closing, () => client.end());
    return rows;
  },
  async "pg-pool"(binding, ctx, query, closing) {
    const pool = new pg.Pool({ connectionString: binding.connectionString, max: 5 });
    const { rows } = await pool.query(query.pg, query.values);
    close(ctx, closing, () => pool.end());
    return rows;
  },
  async postgres(binding, ctx, query, closing) {
    const sql = postgres(binding.connectionString, { max: 5, fetch_types: false });
    const rows = await query.postgres(sql);
    close(ctx, closing, () => sql.end());
    return rows;
  },
  async mysql2(binding, ctx, query, closing) {
    const connection = await createMysql2Connection({ ...mysqlConfig(binding), disableEval: true });
    const [rows] = await connection.query(query.mysql, query.values);
    close(ctx, closing, () => connection.end());
    return rows;
  },
  async "mysql2-pool"(binding, ctx, query, closing) {
    const pool = createMysql2Pool({ ...mysqlConfig(binding), disableEval: true, connectionLimit: 5 });
    const [rows] = await pool.query(query.mysql, query.values);
    close(ctx, closing, () => pool.end());
    return rows;
  },
  async mysql(binding, ctx, query, closing) {
    const connection = mysql.createConnection(mysqlConfig(binding));
    const rows = await new Promise((resolve, reject) =>
      connection.query(query.mysql, query.values, (error, results) => (error ? reject(error) : resolve(results))),
    );
    close(ctx, closing, () => new Promise<void>((resolve) => connection.end(() => resolve())));
    return rows;
  },
};
