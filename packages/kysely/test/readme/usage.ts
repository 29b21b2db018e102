import { withKysely } from "@hyperdrive-kit/kysely/pg";
import type { Kysely } from "kysely";
import type { Database } from "./database";

export default {
  fetch: (_request, env, ctx) =>
    withKysely(env, ctx, async (db: Kysely<Database>) =>
      Response.json(await db.selectFrom("person").select(["id", "name"]).execute()),
    ),
} satisfies ExportedHandler<Env>;
