import { withDrizzle } from "@hyperdrive-kit/drizzle/postgres";
import { users } from "./schema";

export default {
  fetch: (_request, env, ctx) => withDrizzle(env, ctx, async (db) => Response.json(await db.select().from(users))),
} satisfies ExportedHandler<Env>;
