// Cloudflare's Drizzle guide today: a client per request, ended through waitUntil.
import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { users } from "./schema";

export default {
  async fetch(_request, env, ctx): Promise<Response> {
    const sql = postgres(env.HYPERDRIVE.connectionString, { max: 5, fetch_types: false });
    const db = drizzle(sql);
    const result = await db.select().from(users);
    ctx.waitUntil(sql.end());
    return Response.json(result);
  },
} satisfies ExportedHandler<Env>;
