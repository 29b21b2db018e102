import { attach } from "@hyperdrive-kit/core/adapter";
import { mysql2PoolAdapter } from "@hyperdrive-kit/mysql2";
import { createConformanceWorker, mysqlDialect } from "@hyperdrive-kit/testing/conformance";
import type { Kysely } from "kysely";
import { createKysely, withKysely } from "../../src/mysql2.ts";
import { withBodyStream } from "../body-stream.ts";
import { kyselyDerived, rawQuery } from "../derived.ts";

export default withBodyStream(
  // biome-ignore lint/suspicious/noExplicitAny: any database
  createConformanceWorker<Kysely<any>>({
    ...mysqlDialect,
    withHyperdrive: (env, ctx, fn, options) => withKysely(env, ctx, fn, options),
    attach: (scope, env, options) => createKysely(attach(mysql2PoolAdapter, scope, env, { ...options, pool: true })),
    query: rawQuery,
    derived: () => kyselyDerived,
  }),
  (env, ctx, fn, options) => withKysely(env, ctx, fn, options),
);
