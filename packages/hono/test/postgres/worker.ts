import { attach } from "@hyperdrive-kit/core/adapter";
import { postgresAdapter, type Sql } from "@hyperdrive-kit/postgres";
import { createConformanceWorker, postgresDialect, type Rows } from "@hyperdrive-kit/testing/conformance";
import { viaHono } from "../via-hono.ts";

export default createConformanceWorker<Sql>({
  ...postgresDialect,
  withHyperdrive: viaHono(() => postgresAdapter as never),
  attach: (scope, env, options) => attach(postgresAdapter, scope, env, options),
  query: async (sql, text) => [...(await sql.unsafe(text))] as Rows,
  derived: () => ({
    "begin()'s sql": {
      make: (sql, keep) =>
        sql.begin(async (tx) => {
          keep(tx);
          await tx`select 1`;
        }),
      use: (tx) => (tx as Sql)`select 1`,
    },
  }),
});
