import { attach } from "@hyperdrive-kit/core/adapter";
import { pgClientAdapter, pgPoolAdapter } from "@hyperdrive-kit/pg";
import { createConformanceWorker, postgresDialect, type Rows } from "@hyperdrive-kit/testing/conformance";
import type { Client, Pool } from "pg";
import { viaHono } from "../via-hono.ts";

const adapterOf = (options: Record<string, unknown>) =>
  (options.pool === true ? pgPoolAdapter : pgClientAdapter) as never;

export default createConformanceWorker<Client | Pool>({
  ...postgresDialect,
  withHyperdrive: viaHono(adapterOf),
  attach: (scope, env, options) => attach(adapterOf(options), scope, env, options) as Client | Pool,
  query: async (db, text) => (await db.query(text)).rows as Rows,
});
