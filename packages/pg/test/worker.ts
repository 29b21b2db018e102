import { createConformanceWorker } from "@hyperdrive-kit/testing/conformance";
import type { Client, Pool } from "pg";
import { withHyperdrive } from "../src/index.ts";

export default createConformanceWorker<Client | Pool>({
  withHyperdrive: (env, ctx, fn, options) => withHyperdrive(env, ctx, fn as never, options),
  query: async (db, text) => (await db.query(text)).rows,
  countConnectionsSql:
    "select count(*)::int as n from pg_stat_activity where datname = current_database() and backend_type = 'client backend' and pid <> pg_backend_pid()",
  sleepSql: (seconds) => `select pg_sleep(${seconds})`,
});
