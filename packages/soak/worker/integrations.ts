/** Each integration on one PostgreSQL and one MySQL adapter, used the way its documentation writes it. */
import { type DrizzleMysql2, withDrizzle as drizzleMysql2 } from "@hyperdrive-kit/drizzle/mysql2";
import { withDrizzle as drizzlePg } from "@hyperdrive-kit/drizzle/pg";
import { hyperdrive } from "@hyperdrive-kit/hono";
import { withKysely as kyselyMysql2 } from "@hyperdrive-kit/kysely/mysql2";
import { withKysely as kyselyPostgres } from "@hyperdrive-kit/kysely/postgres";
import { mysqlAdapter } from "@hyperdrive-kit/mysql";
import { postgresAdapter } from "@hyperdrive-kit/postgres";
import { withPrisma as prismaMariadb } from "@hyperdrive-kit/prisma/mariadb";
import { withPrisma as prismaPg } from "@hyperdrive-kit/prisma/pg";
import { sql as drizzleSql } from "drizzle-orm";
import type { NodePgDatabase } from "drizzle-orm/node-postgres";
import { Hono } from "hono";
import { type Kysely, sql as kyselySql } from "kysely";
import { PrismaClient as PrismaMariadbClient } from "../../prisma/.generated/mariadb/client.ts";
import { PrismaClient as PrismaPgClient } from "../../prisma/.generated/pg/client.ts";
import { adapters } from "./adapters.ts";
import { errorResponse } from "./outcome.ts";
import { type Dialect, type Env, handleOptions, type Target } from "./target.ts";

/**
 * A Hono app with the middleware on `c.var.db`, whose one route runs what the soak asks for on it. The route's work
 * travels with the request object; errors go through the app's own `onError`, as a Hono app's do.
 */
function honoTarget(base: Target<unknown>, middleware: ReturnType<typeof hyperdrive>): Target<unknown> {
  const work = new WeakMap<Request, (db: unknown) => Promise<Response>>();
  const app = new Hono<{ Bindings: Env; Variables: { db: unknown } }>()
    .use(middleware)
    .all("*", (c) => (work.get(c.req.raw) as (db: unknown) => Promise<Response>)(c.var.db));
  app.onError((error) => errorResponse(error));
  return {
    ...base,
    run(env, ctx, fn) {
      const request = new Request("http://soak/");
      work.set(request, fn);
      return Promise.resolve(app.fetch(request, env, ctx));
    },
  };
}

type AnyKysely = Kysely<{ soak_rows: { n: number } }>;

function kyselyTarget(dialect: Dialect, run: Target<AnyKysely>["run"]): Target<AnyKysely> {
  return {
    dialect,
    run,
    rows: (db, text) =>
      kyselySql
        .raw(text)
        .execute(db)
        .then((result) => result.rows.length),
    transaction: (db, sql) =>
      db.transaction().execute(async (trx) => {
        await kyselySql.raw(sql.insert(7)).execute(trx);
        await kyselySql.raw(sql.sleep(0.2)).execute(trx);
      }),
    async cursor(db, _sql, each) {
      for await (const row of db.selectFrom("soak_rows").select("n").orderBy("n").stream(5)) await each(row.n);
    },
  };
}

type Prisma = {
  $queryRawUnsafe<T = unknown>(text: string): Promise<T>;
  $executeRawUnsafe(text: string): Promise<number>;
  $transaction<T>(fn: (tx: Prisma) => Promise<T>): Promise<T>;
};

function prismaTarget(dialect: Dialect, run: Target<Prisma>["run"]): Target<Prisma> {
  return {
    dialect,
    run,
    rows: (prisma, text) => prisma.$queryRawUnsafe<unknown[]>(text).then((rows) => rows.length),
    // Prisma's interactive transaction: committed when the callback resolves, rolled back when it throws.
    transaction: (prisma, sql) =>
      prisma.$transaction(async (tx) => {
        await tx.$executeRawUnsafe(sql.insert(8));
        await tx.$queryRawUnsafe(sql.sleep(0.2));
      }),
  };
}

export const integrations = {
  "hono-postgres": honoTarget(
    adapters.postgres as Target<unknown>,
    hyperdrive(postgresAdapter, handleOptions("postgres")),
  ),
  "hono-mysql": honoTarget(adapters.mysql as Target<unknown>, hyperdrive(mysqlAdapter, handleOptions("mysql"))),
  "drizzle-pg": {
    dialect: "postgres",
    run: (env, ctx, fn) => drizzlePg(env, ctx, fn, handleOptions("postgres")),
    rows: (db, text) => db.execute(drizzleSql.raw(text)).then((result) => result.rows.length),
    transaction: (db, sql) =>
      db.transaction(async (tx) => {
        await tx.execute(drizzleSql.raw(sql.insert(9)));
        await tx.execute(drizzleSql.raw(sql.sleep(0.2)));
      }),
  } satisfies Target<NodePgDatabase>,
  "drizzle-mysql2": {
    dialect: "mysql",
    run: (env, ctx, fn) => drizzleMysql2(env, ctx, fn, handleOptions("mysql")),
    rows: (db, text) => db.execute(drizzleSql.raw(text)).then(([rows]) => (rows as unknown as unknown[]).length),
    transaction: (db, sql) =>
      db.transaction(async (tx) => {
        await tx.execute(drizzleSql.raw(sql.insert(10)));
        await tx.execute(drizzleSql.raw(sql.sleep(0.2)));
      }),
  } satisfies Target<DrizzleMysql2>,
  "kysely-postgres": kyselyTarget("postgres", (env, ctx, fn) =>
    kyselyPostgres(env, ctx, fn, handleOptions("postgres")),
  ),
  "kysely-mysql2": kyselyTarget("mysql", (env, ctx, fn) => kyselyMysql2(env, ctx, fn, handleOptions("mysql"))),
  "prisma-pg": prismaTarget("postgres", (env, ctx, fn) =>
    prismaPg(env, ctx, (prisma) => fn(prisma as unknown as Prisma), {
      ...handleOptions("postgres"),
      PrismaClient: PrismaPgClient,
    }),
  ),
  "prisma-mariadb": prismaTarget("mysql", (env, ctx, fn) =>
    prismaMariadb(env, ctx, (prisma) => fn(prisma as unknown as Prisma), {
      ...handleOptions("mysql"),
      PrismaClient: PrismaMariadbClient,
    }),
  ),
} as unknown as Record<string, Target<unknown>>;
