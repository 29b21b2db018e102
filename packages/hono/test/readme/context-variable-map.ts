import { hyperdrive } from "@hyperdrive-kit/hono";
import { postgresAdapter, type Sql } from "@hyperdrive-kit/postgres";
import { Hono } from "hono";

// Or once, for every route of every app:
declare module "hono" {
  interface ContextVariableMap {
    database: Sql;
  }
}

new Hono()
  .use(hyperdrive(postgresAdapter, { as: "database" }))
  .get("/", async (c) => c.json(await c.var.database`select 1 as one`));
