import { createConformanceWorker } from "@hyperdrive-kit/testing/conformance";
import { type Sql, withHyperdrive } from "../src/index.ts";

export default createConformanceWorker<Sql>({
  withHyperdrive,
  query: async (sql, text) => [...(await sql.unsafe(text))],
  countConnectionsSql:
    "select count(*)::int as n from pg_stat_activity where datname = current_database() and backend_type = 'client backend' and pid <> pg_backend_pid()",
  sleepSql: (seconds) => `select pg_sleep(${seconds})`,
});
