import { withKysely } from "@hyperdrive-kit/kysely/mysql2";
import type { Kysely } from "kysely";
import type { Database } from "./database";

export default {
  fetch: (_request, env, ctx) =>
    withKysely(env, ctx, async (db: Kysely<Database>) =>
      db.transaction().execute(async (trx) => {
        const { insertId } = await trx.insertInto("person").values({ name: "Ada" }).executeTakeFirstOrThrow();
        return Response.json({ id: Number(insertId) });
      }),
    ),
} satisfies ExportedHandler<Env>;
