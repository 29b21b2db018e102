import { attach } from "@hyperdrive-kit/core/adapter";
import { pgPoolAdapter } from "@hyperdrive-kit/pg";
import { createConformanceWorker, postgresDialect } from "@hyperdrive-kit/testing/conformance";
import { Kysely, PostgresDialect } from "kysely";
import { withKysely } from "../../src/pg.ts";
import { kyselyDerived, rawQuery } from "../derived.ts";

// biome-ignore lint/suspicious/noExplicitAny: any database
export default createConformanceWorker<Kysely<any>>({
  ...postgresDialect,
  withHyperdrive: (env, ctx, fn, options) => withKysely(env, ctx, fn, options),
  attach: (scope, env, options) =>
    new Kysely({
      dialect: new PostgresDialect({ pool: attach(pgPoolAdapter, scope, env, { ...options, pool: true }) }),
    }),
  query: rawQuery,
  derived: () => kyselyDerived,
});
