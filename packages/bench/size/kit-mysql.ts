// The same Worker through @hyperdrive-kit/mysql.
import { withHyperdrive } from "@hyperdrive-kit/mysql";

export default {
  fetch: (_request, env, ctx) =>
    withHyperdrive(env, ctx, async (db) => Response.json((await db.queryAsync("select ? as one", [1]))[0])),
} satisfies ExportedHandler<{ HYPERDRIVE: Hyperdrive }>;
