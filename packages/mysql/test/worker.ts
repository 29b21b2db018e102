import { createConformanceWorker, type Rows } from "@hyperdrive-kit/testing/conformance";
import { type MysqlConnection, withHyperdrive } from "../src/index.ts";

/** Other client connections to the test database; the connection asking is left out. */
export const COUNT_CONNECTIONS_SQL =
  "select count(*) as n from information_schema.processlist where db = database() and id <> connection_id()";

export default createConformanceWorker<MysqlConnection>({
  withHyperdrive,
  // The callback API, as mysqljs users write it.
  query: (db, text) =>
    new Promise<Rows>((resolve, reject) =>
      db.query(text, (error, rows: Rows) => (error ? reject(error) : resolve(rows))),
    ),
  countConnectionsSql: COUNT_CONNECTIONS_SQL,
  sleepSql: (seconds) => `select sleep(${seconds})`,
});
