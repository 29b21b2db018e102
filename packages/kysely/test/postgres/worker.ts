import { attach } from "@hyperdrive-kit/core/adapter";
import { postgresAdapter } from "@hyperdrive-kit/postgres";
import { createConformanceWorker, postgresDialect } from "@hyperdrive-kit/testing/conformance";
import { Kysely } from "kysely";
import { PostgresJsDialect, withKysely } from "../../src/postgres.ts";
import { kyselyDerived, rawQuery } from "../derived.ts";

// biome-ignore lint/suspicious/noExplicitAny: any database
export default createConformanceWorker<Kysely<any>>({
  ...postgresDialect,
  withHyperdrive: (env, ctx, fn, options) => withKysely(env, ctx, fn, options),
  attach: (scope, env, options) =>
    new Kysely({ dialect: new PostgresJsDialect(attach(postgresAdapter, scope, env, options)) }),
  query: rawQuery,
  derived: () => kyselyDerived,
});
