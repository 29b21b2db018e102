// pg as Cloudflare's Hyperdrive docs write it.
import { Client } from "pg";

export default {
  async fetch(_request, env, ctx) {
    const client = new Client({ connectionString: env.HYPERDRIVE.connectionString });
    await client.connect();
    const { rows } = await client.query("select $1::int as one", [1]);
    ctx.waitUntil(client.end());
    return Response.json(rows);
  },
} satisfies ExportedHandler<{ HYPERDRIVE: Hyperdrive }>;
