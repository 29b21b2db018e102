import { attach } from "@hyperdrive-kit/core/adapter";
import { mysql2ConnectionAdapter, mysql2PoolAdapter } from "@hyperdrive-kit/mysql2";
import {
  createConformanceWorker,
  type DerivedObject,
  mysqlDialect,
  type Rows,
} from "@hyperdrive-kit/testing/conformance";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/mysql2";
import { type DrizzleMysql2, withDrizzle } from "../../src/mysql2.ts";
import { drizzleDerived } from "../derived.ts";

export default createConformanceWorker<DrizzleMysql2>({
  ...mysqlDialect,
  withHyperdrive: (env, ctx, fn, options) => withDrizzle(env, ctx, fn as never, options as never),
  attach: (scope, env, options) =>
    drizzle(
      options.pool === true
        ? attach(mysql2PoolAdapter, scope, env, { ...options, pool: true })
        : attach(mysql2ConnectionAdapter, scope, env, { ...options, pool: false }),
    ) as DrizzleMysql2,
  query: async (db, text) => (await db.execute(sql.raw(text)))[0] as unknown as Rows,
  derived: () => drizzleDerived as Record<string, DerivedObject<DrizzleMysql2>>,
});
