import { attach } from "@hyperdrive-kit/core/adapter";
import { postgresAdapter } from "@hyperdrive-kit/postgres";
import { createConformanceWorker, postgresDialect } from "@hyperdrive-kit/testing/conformance";
import type { Kysely } from "kysely";
import { createKysely, withKysely } from "../../src/postgres.ts";
import { withBodyStream } from "../body-stream.ts";
import { kyselyDerived, rawQuery } from "../derived.ts";

export default withBodyStream(
  // biome-ignore lint/suspicious/noExplicitAny: any database
  createConformanceWorker<Kysely<any>>({
    ...postgresDialect,
    withHyperdrive: (env, ctx, fn, options) => withKysely(env, ctx, fn, options),
    attach: (scope, env, options) => createKysely(attach(postgresAdapter, scope, env, options)),
    query: rawQuery,
    derived: () => kyselyDerived,
  }),
  (env, ctx, fn, options) => withKysely(env, ctx, fn, options),
);
