import { withDrizzle } from "@hyperdrive-kit/drizzle/mysql2";
import { eq } from "drizzle-orm";
import { users } from "./mysql-schema";

export default {
  fetch: (_request, env, ctx) =>
    withDrizzle(env, ctx, async (db) => {
      await db.insert(users).values({ name: "Ada" });
      return Response.json(await db.select().from(users).where(eq(users.name, "Ada")));
    }),
} satisfies ExportedHandler<Env>;
