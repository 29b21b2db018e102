/** Type tests (checked by `tsc`, never run): `c.var.db` is typed through `Variables` and `ContextVariableMap`. */

import { DurableObject } from "cloudflare:workers";
import { type MysqlConnection, mysqlAdapter } from "@hyperdrive-kit/mysql";
import { type Mysql2Connection, mysql2ConnectionAdapter, mysql2PoolAdapter } from "@hyperdrive-kit/mysql2";
import { pgClientAdapter, pgPoolAdapter } from "@hyperdrive-kit/pg";
import { postgresAdapter, type Sql } from "@hyperdrive-kit/postgres";
import { type Context, Hono } from "hono";
import type { Connection, Pool as Mysql2Pool } from "mysql2/promise";
import type { Client, Pool } from "pg";
import { expectTypeOf } from "vitest";
import { durableObjectContext, type HyperdriveVariables, hyperdrive } from "../src/index.ts";

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

// Every adapter gives its own client type; pools with `{ pool: true }` adapters.
new Hono()
  .use(hyperdrive(pgClientAdapter))
  .use(hyperdrive(pgPoolAdapter, { pool: true, as: "pool" }))
  .use(hyperdrive(mysqlAdapter, { as: "mysql" }))
  .use(hyperdrive(mysql2PoolAdapter, { pool: true, as: "mysql2" }))
  .get("/", (c) => {
    expectTypeOf(c.var.db).toEqualTypeOf<Client>();
    expectTypeOf(c.var.pool).toEqualTypeOf<Pool>();
    expectTypeOf(c.var.mysql).toEqualTypeOf<MysqlConnection>();
    expectTypeOf(c.var.mysql2).toEqualTypeOf<Mysql2Pool>();
    expectTypeOf(c.var.dbScope.state).toBeString();
    // @ts-expect-error: only what a middleware put there is on c.var
    c.var.nope;
    return c.text("ok");
  });

// `map` types the handle as what it returns (an ORM, for example).
new Hono().use(hyperdrive(postgresAdapter, { map: (sql) => ({ sql, kind: "orm" as const }) })).get("/", (c) => {
  expectTypeOf(c.var.db.kind).toEqualTypeOf<"orm">();
  return c.text("ok");
});

// A handler written against the app's Variables type accepts the middleware's context.
const handler = (c: Context<{ Variables: HyperdriveVariables<"db", Sql> }>) => c.var.db;
new Hono().use(hyperdrive(postgresAdapter)).get("/", (c) => c.json(handler(c)));

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

// In a Durable Object's fetch: the object's `this.ctx` through `durableObjectContext()`, without a cast.
export class Counter extends DurableObject<{ HYPERDRIVE: Hyperdrive }> {
  readonly app = new Hono<{ Variables: HyperdriveVariables<"db", Sql> }>()
    .use(hyperdrive(postgresAdapter))
    .get("/", async (c) => c.json(await c.var.db`select 1`));

  override fetch(request: Request): Response | Promise<Response> {
    return this.app.fetch(request, this.env, durableObjectContext(this.ctx));
  }
}
