// Postgres.js as Cloudflare's Hyperdrive docs write it.
import postgres from "postgres";

export default {
  async fetch(_request, env, ctx) {
    const sql = postgres(env.HYPERDRIVE.connectionString, { max: 5, fetch_types: false });
    const rows = await sql`select ${1}::int as one`;
    ctx.waitUntil(sql.end());
    return Response.json(rows);
  },
} satisfies ExportedHandler<{ HYPERDRIVE: Hyperdrive }>;
