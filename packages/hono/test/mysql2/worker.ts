import { attach } from "@hyperdrive-kit/core/adapter";
import { mysql2ConnectionAdapter, mysql2PoolAdapter } from "@hyperdrive-kit/mysql2";
import { createConformanceWorker, mysqlDialect, type Rows } from "@hyperdrive-kit/testing/conformance";
import type { Connection } from "mysql2/promise";
import { viaHono } from "../via-hono.ts";

const adapterOf = (options: Record<string, unknown>) =>
  (options.pool === true ? mysql2PoolAdapter : mysql2ConnectionAdapter) as never;

export default createConformanceWorker<Connection>({
  ...mysqlDialect,
  withHyperdrive: viaHono(adapterOf),
  attach: (scope, env, options) => attach(adapterOf(options), scope, env, options) as Connection,
  query: async (db, text) => (await db.query(text))[0] as Rows,
});
