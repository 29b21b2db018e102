import { attach } from "@hyperdrive-kit/core/adapter";
import { pgPoolAdapter, withHyperdrive } from "@hyperdrive-kit/pg";
import { createConformanceWorker, postgresDialect } from "@hyperdrive-kit/testing/conformance";
import type { Kysely } from "kysely";
import Cursor from "pg-cursor";
import { createKysely, withKysely } from "../../src/pg.ts";
import { ndjson, type Route, TABLE, withBodyStream } from "../body-stream.ts";
import { kyselyDerived, rawQuery } from "../derived.ts";

/** The same body on `@hyperdrive-kit/pg` alone: a pool's client, a pg-cursor read `chunk` rows at a time. */
const rawPgCursor: Route = (url, env, ctx, onEvent) => {
  if (url.pathname !== "/body-stream/raw-pg") return undefined;
  const chunk = Number(url.searchParams.get("chunk"));
  return withHyperdrive(
    env,
    ctx,
    async (pool) => {
      const client = await pool.connect();
      const cursor = client.query(new Cursor<{ id: number }>(`select id from ${TABLE} order by id`));
      let rows: Array<{ id: number }> = [];
      const end = async () => {
        await cursor.close();
        client.release();
      };
      const next = async (): Promise<IteratorResult<unknown>> => {
        if (rows.length === 0) rows = await cursor.read(chunk);
        const row = rows.shift();
        if (row !== undefined) return { done: false, value: row };
        await end();
        return { done: true, value: undefined };
      };
      return new Response(ndjson(next, end));
    },
    { pool: true, onEvent },
  );
};

export default withBodyStream(
  // biome-ignore lint/suspicious/noExplicitAny: any database
  createConformanceWorker<Kysely<any>>({
    ...postgresDialect,
    withHyperdrive: (env, ctx, fn, options) => withKysely(env, ctx, fn, options),
    attach: (scope, env, options) =>
      createKysely(attach(pgPoolAdapter, scope, env, { ...options, pool: true }), { cursor: Cursor }),
    query: rawQuery,
    derived: () => kyselyDerived,
  }),
  (env, ctx, fn, options) => withKysely(env, ctx, fn, options),
  { cursor: Cursor },
  rawPgCursor,
);
