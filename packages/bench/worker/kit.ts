/** The same work through each adapter's `withHyperdrive`. */
import { withHyperdrive as mysql } from "@hyperdrive-kit/mysql";
import { withHyperdrive as mysql2 } from "@hyperdrive-kit/mysql2";
import { withHyperdrive as pg } from "@hyperdrive-kit/pg";
import { withHyperdrive as postgres } from "@hyperdrive-kit/postgres";
import type { Query } from "./queries.ts";

export type KitRoute = (env: unknown, ctx: ExecutionContext, binding: string, query: Query) => Promise<Response>;

export const kit: Record<string, KitRoute> = {
  pg: (env, ctx, binding, query) =>
    pg(env, ctx, async (client) => Response.json((await client.query(query.pg, query.values)).rows), { binding }),
  "pg-pool": (env, ctx, binding, query) =>
    pg(env, ctx, async (pool) => Response.json((await pool.query(query.pg, query.values)).rows), {
      binding,
      pool: true,
    }),
  postgres: (env, ctx, binding, query) =>
    postgres(env, ctx, async (sql) => Response.json(await query.postgres(sql as never)), {
      binding,
    }),
  mysql2: (env, ctx, binding, query) =>
    mysql2(env, ctx, async (db) => Response.json((await db.query(query.mysql, query.values))[0]), { binding }),
  "mysql2-pool": (env, ctx, binding, query) =>
    mysql2(env, ctx, async (db) => Response.json((await db.query(query.mysql, query.values))[0]), {
      binding,
      pool: true,
    }),
  mysql: (env, ctx, binding, query) =>
    mysql(env, ctx, async (db) => Response.json((await db.queryAsync(query.mysql, query.values))[0]), { binding }),
};
