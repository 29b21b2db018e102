/** Type tests (checked by `tsc`, never run): `c.var.db` is typed through `Variables` and `ContextVariableMap`. */

import { type Mysql2Connection, mysql2ConnectionAdapter } from "@hyperdrive-kit/mysql2";
import { postgresAdapter, type Sql } from "@hyperdrive-kit/postgres";
import { Hono } from "hono";
import { expectTypeOf } from "vitest";
import { type HyperdriveVariables, hyperdrive } from "../src/index.ts";

// 1. The app's Variables.
const app = new Hono<{ Variables: HyperdriveVariables<"db", Sql> }>();
app.use(hyperdrive(postgresAdapter));
app.get("/", async (c) => {
  expectTypeOf(c.var.db).toEqualTypeOf<Sql>();
  return c.json(await c.var.db`select 1`);
});

// 2. Chained: the middleware's own type flows into the handler.
new Hono().use(hyperdrive(mysql2ConnectionAdapter, { as: "mysql" })).get("/", async (c) => {
  expectTypeOf(c.var.mysql).toEqualTypeOf<Mysql2Connection>();
  return c.json((await c.var.mysql.query("select 1"))[0]);
});

// 3. ContextVariableMap, for apps that declare it once for every route.
declare module "hono" {
  interface ContextVariableMap {
    pg: Sql;
  }
}
new Hono().get("/", (c) => {
  expectTypeOf(c.var.pg).toEqualTypeOf<Sql>();
  return c.text("ok");
});

// @ts-expect-error: a misspelt option key is a type error (and HDK_INVALID_OPTION at run time)
hyperdrive(postgresAdapter, { bindng: "DB" });
