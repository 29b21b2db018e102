// The same Worker through @hyperdrive-kit/mysql2.
import { withHyperdrive } from "@hyperdrive-kit/mysql2";

export default {
  fetch: (_request, env, ctx) =>
    withHyperdrive(env, ctx, async (db) => Response.json((await db.query("select ? as one", [1]))[0])),
} satisfies ExportedHandler<{ HYPERDRIVE: Hyperdrive }>;
