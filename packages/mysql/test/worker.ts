import { createConformanceWorker, mysqlDialect, type Rows } from "@hyperdrive-kit/testing/conformance";
import { type MysqlConnection, withHyperdrive } from "../src/index.ts";

export default createConformanceWorker<MysqlConnection>({
  ...mysqlDialect,
  withHyperdrive,
  // The callback API, as mysqljs users write it.
  query: (db, text) =>
    new Promise<Rows>((resolve, reject) =>
      db.query(text, (error, rows: Rows) => (error ? reject(error) : resolve(rows))),
    ),
});
