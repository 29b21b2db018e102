import { attach } from "@hyperdrive-kit/core/adapter";
import { pgClientAdapter, pgPoolAdapter } from "@hyperdrive-kit/pg";
import {
  createConformanceWorker,
  type DerivedObject,
  postgresDialect,
  type Rows,
} from "@hyperdrive-kit/testing/conformance";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/node-postgres";
import { type DrizzlePg, withDrizzle } from "../../src/pg.ts";
import { drizzleDerived } from "../derived.ts";

export default createConformanceWorker<DrizzlePg>({
  ...postgresDialect,
  withHyperdrive: (env, ctx, fn, options) => withDrizzle(env, ctx, fn as never, options as never),
  attach: (scope, env, options) =>
    drizzle(
      options.pool === true
        ? attach(pgPoolAdapter, scope, env, { ...options, pool: true })
        : attach(pgClientAdapter, scope, env, { ...options, pool: false }),
    ) as unknown as DrizzlePg,
  query: async (db, text) => (await db.execute(sql.raw(text))).rows as Rows,
  derived: () => drizzleDerived as Record<string, DerivedObject<DrizzlePg>>,
});
