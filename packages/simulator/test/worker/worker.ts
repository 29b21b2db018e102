/**
 * The test Worker: runs a script of statements through an adapter's `withHyperdrive`, on the binding the test names
 * (each one a simulator with its own configuration), and answers the rows or the error as the user's code sees it.
 */
import { findHyperdriveError } from "@hyperdrive-kit/core";
import { withDrizzle as withDrizzleMysql2 } from "@hyperdrive-kit/drizzle/mysql2";
import { withDrizzle as withDrizzlePostgres } from "@hyperdrive-kit/drizzle/postgres";
import { withHyperdrive as withMysql } from "@hyperdrive-kit/mysql";
import { withHyperdrive as withMysql2 } from "@hyperdrive-kit/mysql2";
import { withHyperdrive as withPg } from "@hyperdrive-kit/pg";
import { withHyperdrive as withPostgres } from "@hyperdrive-kit/postgres";
import { sql as drizzleSql, type SQL } from "drizzle-orm";
import { createConnection } from "mysql2/promise";

export type Driver = "pg" | "postgres" | "mysql2" | "mysql" | "drizzle-postgres" | "drizzle-mysql2";

export interface Step {
  sql: string;
  params?: unknown[];
  /** pg: a named (protocol-level prepared) statement. */
  name?: string;
}

export interface Script {
  /** "mysql2-raw-execute": mysql2's own `execute()` on a connection made without the library, then the handle's. */
  driver: Driver | "mysql2-raw-execute";
  binding: string;
  /** Runs the steps in one transaction. */
  transaction?: boolean;
  steps: Step[];
}

export type Outcome =
  | { rows: Array<Array<Record<string, unknown>>> }
  | { error: { code?: string; retryable?: boolean; sqlstate?: string; message: string } };

type Run = (step: Step) => Promise<Array<Record<string, unknown>>>;

/** A step as Drizzle's `sql`: the text between placeholders raw, each parameter bound as Drizzle binds it. */
function drizzleStep({ sql, params = [] }: Step): SQL {
  const parts = sql.split(/\$\d+|\?/);
  return drizzleSql.join(
    parts.flatMap((part, i) =>
      i < params.length ? [drizzleSql.raw(part), drizzleSql`${params[i]}`] : [drizzleSql.raw(part)],
    ),
  );
}

async function script({ driver, binding, transaction, steps }: Script, env: Env, ctx: ExecutionContext) {
  const all = async (run: Run) => {
    const rows = [];
    for (const step of steps) rows.push(await run(step));
    return rows;
  };
  /** Runs the steps, in a transaction if asked, with BEGIN/COMMIT as SQL (pg, mysql2, mysql). */
  const inTransaction = async (query: (sql: string) => Promise<unknown>, run: Run) => {
    if (!transaction) return Response.json({ rows: await all(run) });
    await query("begin");
    try {
      const rows = await all(run);
      await query("commit");
      return Response.json({ rows });
    } catch (error) {
      await query("rollback").catch(() => {});
      throw error;
    }
  };
  /** A write's result is a header, not rows: the tests see no rows. */
  const rowsOf = (result: unknown) => (Array.isArray(result) ? (result as Array<Record<string, unknown>>) : []);
  if (driver === "mysql2-raw-execute") {
    const { host, port, user, password, database } = env[binding] as Hyperdrive;
    const raw = await createConnection({ host, port, user, password, database, disableEval: true });
    let refused: string;
    try {
      await raw.execute("select ? as v", [1]);
      refused = "(no error)";
    } catch (error) {
      refused = String((error as Error).message);
    } finally {
      raw.destroy();
    }
    return withMysql2(
      env,
      ctx,
      async (db) => {
        const [rows] = await db.execute("select ? as v", [1]);
        return Response.json({ rows: [[{ refused }], rowsOf(rows)] });
      },
      { binding },
    );
  }
  if (driver === "drizzle-postgres") {
    return withDrizzlePostgres(
      env,
      ctx,
      async (db) => {
        const runOn =
          (target: Pick<typeof db, "execute">): Run =>
          async (step) => [...((await target.execute(drizzleStep(step))) as unknown as Array<Record<string, unknown>>)];
        if (!transaction) return Response.json({ rows: await all(runOn(db)) });
        return Response.json({ rows: await db.transaction((tx) => all(runOn(tx))) });
      },
      { binding },
    );
  }
  if (driver === "drizzle-mysql2") {
    return withDrizzleMysql2(
      env,
      ctx,
      async (db) => {
        const runOn =
          (target: Pick<typeof db, "execute">): Run =>
          async (step) =>
            rowsOf(((await target.execute(drizzleStep(step))) as unknown as [unknown])[0]);
        if (!transaction) return Response.json({ rows: await all(runOn(db)) });
        return Response.json({ rows: await db.transaction((tx) => all(runOn(tx))) });
      },
      { binding },
    );
  }
  if (driver === "mysql2") {
    return withMysql2(
      env,
      ctx,
      (db) =>
        inTransaction(
          (sql) => db.query(sql),
          async ({ sql, params }) => rowsOf((await db.query(sql, params ?? []))[0]),
        ),
      { binding },
    );
  }
  if (driver === "mysql") {
    return withMysql(
      env,
      ctx,
      (db) =>
        inTransaction(
          (sql) => db.queryAsync(sql),
          async ({ sql, params }) => rowsOf((await db.queryAsync(sql, params ?? []))[0]),
        ),
      { binding },
    );
  }
  if (driver === "pg") {
    return withPg(
      env,
      ctx,
      async (client) => {
        const run: Run = async ({ sql, params, name }) =>
          (await client.query({ text: sql, values: params ?? [], ...(name ? { name } : {}) })).rows;
        return inTransaction((sql) => client.query(sql), run);
      },
      { binding },
    );
  }
  return withPostgres(
    env,
    ctx,
    async (sql) => {
      // `prepare: true`: Postgres.js's named statements, the path Hyperdrive caches.
      const runOn =
        (target: typeof sql): Run =>
        async ({ sql: text, params }) => [...(await target.unsafe(text, (params ?? []) as never[], { prepare: true }))];
      if (!transaction) return Response.json({ rows: await all(runOn(sql)) });
      const rows = await sql.begin((tx) => all(runOn(tx as unknown as typeof sql)));
      return Response.json({ rows });
    },
    { binding },
  );
}

export default {
  async fetch(request, env, ctx) {
    const body = (await request.json()) as Script;
    try {
      return await script(body, env, ctx);
    } catch (error) {
      const typed = findHyperdriveError(error);
      // The driver's error: under the library's typed error, or under the ORM's (Drizzle's DrizzleQueryError).
      const raw = (typed?.cause ?? (error as { cause?: unknown }).cause ?? error) as {
        code?: unknown;
        message?: unknown;
      };
      return Response.json({
        error: {
          ...(typed ? { code: typed.code, retryable: typed.retryable } : {}),
          ...(typeof raw.code === "string" ? { sqlstate: raw.code } : {}),
          message: String(raw.message ?? error),
        },
      } satisfies Outcome);
    }
  },
} satisfies ExportedHandler<Env>;

type Env = Record<string, Hyperdrive>;
