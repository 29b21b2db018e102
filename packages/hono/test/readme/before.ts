// The per-request pattern people write today (Cloudflare's Postgres.js guide, in a Hono middleware).
import { Hono } from "hono";
import postgres from "postgres";

type Sql = ReturnType<typeof postgres>;
const app = new Hono<{ Bindings: Env; Variables: { sql: Sql } }>();

app.use(async (c, next) => {
  const sql = postgres(c.env.HYPERDRIVE.connectionString, { max: 5, fetch_types: false });
  c.set("sql", sql);
  await next();
  c.executionCtx.waitUntil(sql.end());
});

app.get("/todos", async (c) => c.json(await c.var.sql`select id, title from todos`));

export default app;
