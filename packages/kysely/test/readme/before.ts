// What people write today: Kysely's PostgresDialect on a pg Pool built per request.
import { Kysely, PostgresDialect } from "kysely";
import { Pool } from "pg";
import type { Database } from "./database";

export default {
  async fetch(_request, env, ctx): Promise<Response> {
    const pool = new Pool({ connectionString: env.HYPERDRIVE.connectionString, max: 5 });
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    const people = await db.selectFrom("person").select(["id", "name"]).execute();
    ctx.waitUntil(db.destroy());
    return Response.json(people);
  },
} satisfies ExportedHandler<Env>;
