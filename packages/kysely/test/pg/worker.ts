import { attach } from "@hyperdrive-kit/core/adapter";
import { pgPoolAdapter } from "@hyperdrive-kit/pg";
import { createConformanceWorker, postgresDialect } from "@hyperdrive-kit/testing/conformance";
import type { Kysely } from "kysely";
import Cursor from "pg-cursor";
import { createKysely, withKysely } from "../../src/pg.ts";
import { kyselyDerived, rawQuery } from "../derived.ts";

// biome-ignore lint/suspicious/noExplicitAny: any database
export default createConformanceWorker<Kysely<any>>({
  ...postgresDialect,
  withHyperdrive: (env, ctx, fn, options) => withKysely(env, ctx, fn, options),
  attach: (scope, env, options) =>
    createKysely(attach(pgPoolAdapter, scope, env, { ...options, pool: true }), { cursor: Cursor }),
  query: rawQuery,
  derived: () => kyselyDerived,
});
