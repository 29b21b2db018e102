/** The same work through each adapter's `withHyperdrive`. */
import { withHyperdrive as mysql } from "@hyperdrive-kit/mysql";
import { withHyperdrive as mysql2 } from "@hyperdrive-kit/mysql2";
import { withHyperdrive as pg } from "@hyperdrive-kit/pg";
import { withHyperdrive as postgres } from "@hyperdrive-kit/postgres";
import type { Query } from "./queries.ts";

/** `teardown: "none"` is the handle's counterpart of the raw floor: nothing closes the client. */
export interface KitOptions {
  binding: string;
  teardown: "waitUntil" | "none";
}

export type KitRoute = (env: unknown, ctx: ExecutionContext, options: KitOptions, query: Query) => Promise<Response>;

export const kit: Record<string, KitRoute> = {
  pg: (env, ctx, options, query) =>
    pg(env, ctx, async (client) => Response.json((await client.query(query.pg, query.values)).rows), options),
  "pg-pool": (env, ctx, options, query) =>
    pg(env, ctx, async (pool) => Response.json((await pool.query(query.pg, query.values)).rows), {
      ...options,
      pool: true,
    }),
  postgres: (env, ctx, options, query) =>
    postgres(env, ctx, async (sql) => Response.json(await query.postgres(sql as never)), options),
  mysql2: (env, ctx, options, query) =>
    mysql2(env, ctx, async (db) => Response.json((await db.query(query.mysql, query.values))[0]), options),
  "mysql2-pool": (env, ctx, options, query) =>
    mysql2(env, ctx, async (db) => Response.json((await db.query(query.mysql, query.values))[0]), {
      ...options,
      pool: true,
    }),
  mysql: (env, ctx, options, query) =>
    mysql(env, ctx, async (db) => Response.json((await db.queryAsync(query.mysql, query.values))[0]), options),
};
