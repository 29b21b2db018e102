/**
 * The Worker `pnpm test:latest` runs in a fresh project, on the packed packages and the newest published peers: every
 * adapter and integration the way a user writes it, against real servers. Each route answers JSON; the script
 * (`../scripts/test-latest.ts`) checks the answers, that no connection is left open and that MySQL saw no
 * `COM_STMT_PREPARE`. Not part of the workspace's type check: it compiles against what npm installed there.
 */
import { findHyperdriveError } from "@hyperdrive-kit/core";
import { withDrizzle as withDrizzleMysql2 } from "@hyperdrive-kit/drizzle/mysql2";
import { createDrizzle as drizzleOnPg } from "@hyperdrive-kit/drizzle/pg";
import { withDrizzle as withDrizzlePostgres } from "@hyperdrive-kit/drizzle/postgres";
import { hyperdrive, hyperdriveErrorHandler } from "@hyperdrive-kit/hono";
import { withKysely as withKyselyMysql2 } from "@hyperdrive-kit/kysely/mysql2";
import { withKysely as withKyselyPg } from "@hyperdrive-kit/kysely/pg";
import { withKysely as withKyselyPostgres } from "@hyperdrive-kit/kysely/postgres";
import { withHyperdrive as withMysql } from "@hyperdrive-kit/mysql";
import { mysql2ConnectionAdapter, withHyperdrive as withMysql2 } from "@hyperdrive-kit/mysql2";
import { pgClientAdapter, withHyperdrive as withPg } from "@hyperdrive-kit/pg";
import { withHyperdrive as withPostgres } from "@hyperdrive-kit/postgres";
import { withPrisma as withPrismaMariadb } from "@hyperdrive-kit/prisma/mariadb";
import { withPrisma as withPrismaPg } from "@hyperdrive-kit/prisma/pg";
import { sql as drizzleSql } from "drizzle-orm";
import { Hono } from "hono";
import { sql as kyselySql } from "kysely";
import { PrismaClient as MariadbPrisma } from "./generated/mariadb/client.ts";
import { PrismaClient as PgPrisma } from "./generated/pg/client.ts";

interface Env {
  PG: Hyperdrive;
  MY: Hyperdrive;
  /** Points at a port nothing listens on. */
  DOWN: Hyperdrive;
}

type Handler = (env: Env, ctx: ExecutionContext) => Promise<unknown>;

const pg = { binding: "PG" } as const;
const my = { binding: "MY" } as const;
let kept: unknown;
/** What the scope reported for each `/migrated/*` route: its teardown outcome and any error. */
const migrated: Record<string, string[]> = {};
const watch = (route: string) => ({
  onEvent(event: { type: string; outcome?: string; error?: { code?: string } }) {
    if (event.type === "teardown" || event.type === "error") {
      migrated[route] ??= [];
      migrated[route].push(`${event.type}:${event.outcome ?? event.error?.code}`);
    }
  },
});

const hono = new Hono<{ Bindings: Env }>()
  .use(hyperdrive(pgClientAdapter, { binding: "PG", map: (client) => drizzleOnPg(client) }))
  .get("/hono/pg", async (c) =>
    c.json({ one: Number((await c.var.db.execute(drizzleSql`select 1 as one`)).rows[0]?.one) }),
  )
  .get("/hono/health", (c) => c.json({ ok: true }));
hono.onError(hyperdriveErrorHandler({ log: false }));

const honoMysql2 = new Hono<{ Bindings: Env }>()
  .use(hyperdrive(mysql2ConnectionAdapter, { binding: "MY" }))
  .get("/hono/mysql2", async (c) => c.json({ one: Number((await c.var.db.query("select 1 as one"))[0][0]?.one) }));

// Prisma's error, through Hono's error handler.
const honoPrisma = new Hono<{ Bindings: Env }>().get("/hono/prisma-refused", async (c) =>
  c.json(
    await withPrismaPg(c.env, c.executionCtx, (prisma) => prisma.todo.count(), {
      binding: "DOWN",
      connectTimeoutMs: 5_000,
      PrismaClient: PgPrisma,
    }),
  ),
);
honoPrisma.onError(hyperdriveErrorHandler({ log: false }));

// The same app deployed without its binding: only a route that uses the database fails.
const honoNoBinding = new Hono<{ Bindings: Env }>()
  .use(hyperdrive(pgClientAdapter, { binding: "NOT_CONFIGURED" }))
  .get("/hono/unbound/health", (c) => c.json({ ok: true }))
  .get("/hono/unbound/db", async (c) => c.json((await c.var.db.query("select 1")).rows));
honoNoBinding.onError(hyperdriveErrorHandler({ log: false }));

const one = (rows: unknown): number => Number((rows as Array<{ one: unknown }>)[0]?.one);

const routes: Record<string, Handler> = {
  "/setup": async (env, ctx) => {
    await withPg(
      env,
      ctx,
      (client) => client.query("create table if not exists latest_todos (id serial primary key, title text not null)"),
      pg,
    );
    await withMysql2(
      env,
      ctx,
      (db) =>
        db.query("create table if not exists latest_todos (id int auto_increment primary key, title text not null)"),
      my,
    );
    return { ok: true };
  },
  "/pg/client": (env, ctx) =>
    withPg(env, ctx, async (client) => ({ one: one((await client.query("select 1 as one")).rows) }), pg),
  "/pg/pool": (env, ctx) =>
    withPg(
      env,
      ctx,
      async (pool) => ({
        many: (await Promise.all([1, 2, 3].map((n) => pool.query("select $1::int as n", [n])))).length,
      }),
      { ...pg, pool: true },
    ),
  "/postgres": (env, ctx) =>
    withPostgres(
      env,
      ctx,
      async (sql) => {
        const [row] = await sql`select ${"x"}::text as x, 1::int as one`;
        const inTx = await sql.begin(async (tx) => (await tx`select 2::int as two`)[0]?.two);
        return { one: row?.one, x: row?.x, inTx };
      },
      pg,
    ),
  "/mysql2": (env, ctx) =>
    withMysql2(
      env,
      ctx,
      async (db) => {
        const [rows] = await db.execute("select ? + 1 as one", [0]);
        return { one: one(rows) };
      },
      my,
    ),
  "/mysql2/pool": (env, ctx) =>
    withMysql2(env, ctx, async (pool) => ({ one: one((await pool.query("select 1 as one"))[0]) }), {
      ...my,
      pool: true,
    }),
  "/mysql": (env, ctx) =>
    withMysql(env, ctx, async (db) => ({ one: one((await db.queryAsync("select 1 as one"))[0]) }), my),
  "/drizzle/postgres": (env, ctx) =>
    withDrizzlePostgres(env, ctx, async (db) => ({ one: one(await db.execute(drizzleSql`select 1 as one`)) }), pg),
  "/drizzle/mysql2": (env, ctx) =>
    withDrizzleMysql2(
      env,
      ctx,
      async (db) => {
        await db.execute(drizzleSql`insert into latest_todos (title) values (${"drizzle"})`);
        const [rows] = (await db.execute(drizzleSql`select count(*) as n from latest_todos`)) as unknown as [
          Array<{ n: unknown }>,
        ];
        return { counted: Number(rows[0]?.n) > 0 };
      },
      my,
    ),
  "/kysely/pg": (env, ctx) =>
    withKyselyPg(env, ctx, async (db) => ({ one: one((await kyselySql`select 1 as one`.execute(db)).rows) }), pg),
  "/kysely/postgres": (env, ctx) =>
    withKyselyPostgres(env, ctx, async (db) => ({ one: one((await kyselySql`select 1 as one`.execute(db)).rows) }), pg),
  "/kysely/mysql2": (env, ctx) =>
    withKyselyMysql2(env, ctx, async (db) => ({ one: one((await kyselySql`select 1 as one`.execute(db)).rows) }), my),
  "/prisma/pg": (env, ctx) =>
    withPrismaPg(
      env,
      ctx,
      async (prisma) => {
        await prisma.todo.create({ data: { title: "prisma" } });
        return { counted: (await prisma.todo.count()) > 0 };
      },
      { ...pg, PrismaClient: PgPrisma },
    ),
  "/prisma/mariadb": (env, ctx) =>
    withPrismaMariadb(
      env,
      ctx,
      async (prisma) => {
        await prisma.todo.create({ data: { title: "prisma" } });
        return { counted: (await prisma.todo.count()) > 0 };
      },
      { ...my, PrismaClient: MariadbPrisma },
    ),
  // Cloudflare's documented code moved into the callback as it is, `connect()` and `ctx.waitUntil(….end())` included.
  "/migrated/pg": (env, ctx) =>
    withPg(
      env,
      ctx,
      async (client) => {
        await client.connect();
        const result = await client.query("select 1 as one");
        ctx.waitUntil(client.end());
        return { one: one(result.rows) };
      },
      { ...pg, ...watch("pg") },
    ),
  "/migrated/postgres": (env, ctx) =>
    withPostgres(
      env,
      ctx,
      async (sql) => {
        const rows = await sql`select 1 as one`;
        ctx.waitUntil(sql.end());
        return { one: one(rows) };
      },
      { ...pg, ...watch("postgres") },
    ),
  "/migrated/mysql2": (env, ctx) =>
    withMysql2(
      env,
      ctx,
      async (connection) => {
        const [rows] = await connection.query("select 1 as one");
        ctx.waitUntil(connection.end());
        return { one: one(rows) };
      },
      { ...my, ...watch("mysql2") },
    ),
  "/migrated/mysql": (env, ctx) =>
    withMysql(
      env,
      ctx,
      async (connection) => {
        const [rows] = await connection.queryAsync("select 1 as one");
        ctx.waitUntil(connection.end());
        return { one: one(rows) };
      },
      { ...my, ...watch("mysql") },
    ),
  "/migrated/events": async () => migrated,
  // Errors: typed, also through an ORM's wrapper.
  "/error/refused": (env, ctx) =>
    withPostgres(env, ctx, (sql) => sql`select 1`, { binding: "DOWN", connectTimeoutMs: 5_000 }),
  "/error/refused-drizzle": (env, ctx) =>
    withDrizzlePostgres(env, ctx, (db) => db.execute(drizzleSql`select 1`), {
      binding: "DOWN",
      connectTimeoutMs: 5_000,
    }),
  // Prisma keeps only the code, the message and `meta` of what its adapter threw.
  "/error/refused-prisma": (env, ctx) =>
    withPrismaPg(env, ctx, (prisma) => prisma.todo.count(), {
      binding: "DOWN",
      connectTimeoutMs: 5_000,
      PrismaClient: PgPrisma,
    }).catch((error: { code?: unknown; meta?: { code?: unknown; fix?: unknown } }) => ({
      code: error.code,
      metaCode: error.meta?.code,
      metaFix: typeof error.meta?.fix === "string",
    })),
  "/error/keep": (env, ctx) =>
    withPg(
      env,
      ctx,
      (client) => {
        kept = client;
        return { kept: true };
      },
      pg,
    ),
  "/error/reuse": async () => (kept as { query(text: string): Promise<unknown> }).query("select 1"),
  // What is open on each server, this route's own connections apart.
  "/connections": async (env, ctx) => ({
    postgres: await withPg(
      env,
      ctx,
      async (client) =>
        Number(
          (
            await client.query(
              "select count(*)::int as n from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()",
            )
          ).rows[0].n,
        ),
      pg,
    ),
    mysql: await withMysql2(
      env,
      ctx,
      async (db) =>
        Number(
          (
            (
              await db.query(
                "select count(*) as n from information_schema.processlist where id <> connection_id() and command <> 'Daemon'",
              )
            )[0] as Array<{ n: unknown }>
          )[0]?.n,
        ),
      my,
    ),
  }),
  "/mysql/prepares": (env, ctx) =>
    withMysql2(
      env,
      ctx,
      async (db) => {
        const [rows] = await db.query("show global status like 'Com_stmt_prepare'");
        return { prepares: Number((rows as Array<{ Value: unknown }>)[0]?.Value) };
      },
      my,
    ),
};

export default {
  async fetch(request, env, ctx) {
    const { pathname } = new URL(request.url);
    if (pathname.startsWith("/hono/unbound")) return honoNoBinding.fetch(request, env, ctx);
    if (pathname === "/hono/mysql2") return honoMysql2.fetch(request, env, ctx);
    if (pathname === "/hono/prisma-refused") return honoPrisma.fetch(request, env, ctx);
    if (pathname.startsWith("/hono/")) return hono.fetch(request, env, ctx);
    const route = routes[pathname];
    if (!route) return Response.json({ error: "no such route" }, { status: 404 });
    try {
      return Response.json(await route(env, ctx));
    } catch (error) {
      const typed = findHyperdriveError(error);
      const wrapper = typed && typed !== error && error instanceof Error ? error.constructor.name : undefined;
      return Response.json(
        { error: typed?.code ?? String(error), wrapper, fix: typed?.fix },
        { status: typed ? 503 : 500 },
      );
    }
  },
} satisfies ExportedHandler<Env>;
