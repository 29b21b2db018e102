import { createDrizzle } from "@hyperdrive-kit/drizzle/postgres";
import { hyperdrive } from "@hyperdrive-kit/hono";
import { postgresAdapter } from "@hyperdrive-kit/postgres";
import { Hono } from "hono";
import * as schema from "./schema";

const app = new Hono<{ Bindings: Env }>()
  .use(hyperdrive(postgresAdapter, { map: (sql) => createDrizzle(sql, { schema }) }))
  .get("/todos", async (c) => c.json(await c.var.db.query.todos.findMany()));

export default app;
