/**
 * The test Worker: runs a script of statements through an adapter's `withHyperdrive`, on the binding the test names
 * (each one a simulator with its own configuration), and answers the rows or the error as the user's code sees it.
 */
import { findHyperdriveError } from "@hyperdrive-kit/core";
import { withHyperdrive as withPg } from "@hyperdrive-kit/pg";
import { withHyperdrive as withPostgres } from "@hyperdrive-kit/postgres";

export type Driver = "pg" | "postgres";

export interface Step {
  sql: string;
  params?: unknown[];
  /** pg: a named (protocol-level prepared) statement. */
  name?: string;
}

export interface Script {
  driver: Driver;
  binding: string;
  /** Runs the steps in one transaction. */
  transaction?: boolean;
  steps: Step[];
}

export type Outcome =
  | { rows: Array<Array<Record<string, unknown>>> }
  | { error: { code?: string; sqlstate?: string; message: string } };

type Run = (step: Step) => Promise<Array<Record<string, unknown>>>;

async function script({ driver, binding, transaction, steps }: Script, env: Env, ctx: ExecutionContext) {
  const all = async (run: Run) => {
    const rows = [];
    for (const step of steps) rows.push(await run(step));
    return rows;
  };
  if (driver === "pg") {
    return withPg(
      env,
      ctx,
      async (client) => {
        const run: Run = async ({ sql, params, name }) =>
          (await client.query({ text: sql, values: params ?? [], ...(name ? { name } : {}) })).rows;
        if (!transaction) return Response.json({ rows: await all(run) });
        await client.query("begin");
        try {
          const rows = await all(run);
          await client.query("commit");
          return Response.json({ rows });
        } catch (error) {
          await client.query("rollback").catch(() => {});
          throw error;
        }
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
      const raw = (typed?.cause ?? error) as { code?: unknown; message?: unknown };
      return Response.json({
        error: {
          ...(typed ? { code: typed.code } : {}),
          ...(typeof raw.code === "string" ? { sqlstate: raw.code } : {}),
          message: String(raw.message ?? error),
        },
      } satisfies Outcome);
    }
  },
} satisfies ExportedHandler<Env>;

type Env = Record<string, Hyperdrive>;
