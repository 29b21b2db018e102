import { createConformanceWorker, postgresDialect } from "@hyperdrive-kit/testing/conformance";
import type { Client, Pool } from "pg";
import { withHyperdrive } from "../src/index.ts";

export default createConformanceWorker<Client | Pool>({
  ...postgresDialect,
  withHyperdrive: (env, ctx, fn, options) => withHyperdrive(env, ctx, fn as never, options),
  query: async (db, text) => (await db.query(text)).rows,
});
