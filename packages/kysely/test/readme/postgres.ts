import { withKysely } from "@hyperdrive-kit/kysely/postgres";
import type { Kysely } from "kysely";
import type { Database } from "./database";

export default {
  fetch: (_request, env, ctx) =>
    withKysely(env, ctx, async (db: Kysely<Database>) => {
      const person = await db.insertInto("person").values({ name: "Ada" }).returning("id").executeTakeFirstOrThrow();
      return Response.json(await db.selectFrom("person").selectAll().where("id", "=", person.id).execute());
    }),
} satisfies ExportedHandler<Env>;
