// The same Worker through @hyperdrive-kit/pg.
import { withHyperdrive } from "@hyperdrive-kit/pg";

export default {
  fetch: (_request, env, ctx) =>
    withHyperdrive(env, ctx, async (client) => Response.json((await client.query("select $1::int as one", [1])).rows)),
} satisfies ExportedHandler<{ HYPERDRIVE: Hyperdrive }>;
