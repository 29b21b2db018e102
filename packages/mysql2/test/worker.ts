import { createConformanceWorker, type Rows } from "@hyperdrive-kit/testing/conformance";
import type { Connection, Pool } from "mysql2/promise";
import { withHyperdrive } from "../src/index.ts";

/** Other client connections to the test database; the connection asking is left out. */
export const COUNT_CONNECTIONS_SQL =
  "select count(*) as n from information_schema.processlist where db = database() and id <> connection_id()";

export default createConformanceWorker<Connection | Pool>({
  // Options come from the test's URL; `{ pool: true }` would pick the Pool at run time.
  withHyperdrive: (env, ctx, fn, options) =>
    withHyperdrive(env, ctx, fn as (db: Connection) => Promise<Response>, options as Record<string, never>),
  query: async (db, text) => (await db.query(text))[0] as Rows,
  countConnectionsSql: COUNT_CONNECTIONS_SQL,
  sleepSql: (seconds) => `select sleep(${seconds})`,
});
