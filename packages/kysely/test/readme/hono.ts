import { hyperdrive } from "@hyperdrive-kit/hono";
import { createKysely } from "@hyperdrive-kit/kysely/postgres";
import { postgresAdapter } from "@hyperdrive-kit/postgres";
import { Hono } from "hono";
import type { Database } from "./database";

const app = new Hono<{ Bindings: Env }>()
  .use(hyperdrive(postgresAdapter, { map: (sql) => createKysely<Database>(sql) }))
  .get("/people", async (c) => c.json(await c.var.db.selectFrom("person").select(["id", "name"]).execute()));

export default app;
