// The same Worker through @hyperdrive-kit/postgres.
import { withHyperdrive } from "@hyperdrive-kit/postgres";

export default {
  fetch: (_request, env, ctx) =>
    withHyperdrive(env, ctx, async (sql) => Response.json(await sql`select ${1}::int as one`)),
} satisfies ExportedHandler<{ HYPERDRIVE: Hyperdrive }>;
