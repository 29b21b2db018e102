import { createConformanceWorker, mysqlDialect, type Rows } from "@hyperdrive-kit/testing/conformance";
import type { Connection, Pool } from "mysql2/promise";
import { withHyperdrive } from "../src/index.ts";

export default createConformanceWorker<Connection | Pool>({
  ...mysqlDialect,
  // Options come from the test's URL; `{ pool: true }` would pick the Pool at run time.
  withHyperdrive: (env, ctx, fn, options) =>
    withHyperdrive(env, ctx, fn as (db: Connection) => Promise<Response>, options as Record<string, never>),
  query: async (db, text) => (await db.query(text))[0] as Rows,
});
