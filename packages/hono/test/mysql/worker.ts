import { attach } from "@hyperdrive-kit/core/adapter";
import { type MysqlConnection, mysqlAdapter } from "@hyperdrive-kit/mysql";
import { createConformanceWorker, mysqlDialect, type Rows } from "@hyperdrive-kit/testing/conformance";
import { viaHono } from "../via-hono.ts";

export default createConformanceWorker<MysqlConnection>({
  ...mysqlDialect,
  withHyperdrive: viaHono(() => mysqlAdapter as never),
  attach: (scope, env, options) => attach(mysqlAdapter, scope, env, options),
  query: async (db, text) => (await db.queryAsync<Rows>(text))[0],
});
