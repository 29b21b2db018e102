import type { ExecutionContextLike, RequestScope, WithHyperdriveOptions } from "@hyperdrive-kit/core";
import { type Mysql2PoolOptions, withHyperdrive } from "@hyperdrive-kit/mysql2";
import { Kysely, MysqlDialect, type MysqlPool } from "kysely";
import type { Pool as CallbackPool } from "mysql2";
import type { Pool } from "mysql2/promise";
import type { KyselyOptions } from "./options.ts";

// Errors and their classification, so a Worker needs one import.
export { classify, findHyperdriveError, HyperdriveError, isHyperdriveError } from "@hyperdrive-kit/core";

export type { KyselyOptions } from "./options.ts";

/** What the Kysely instance is built with: Kysely's own options. */
export interface KyselyMysql2Config {
  /** Kysely's options besides the dialect (`plugins`, `log`). */
  kysely?: KyselyOptions;
}

/**
 * The handle's options (binding, timeouts, `client` for the pool…) and, under `kysely`, Kysely's. Kysely's
 * `MysqlDialect` takes a pool, so the handle is always a per-request `Pool` (of 5 unless `client.connectionLimit`).
 */
export type KyselyMysql2Options = Omit<WithHyperdriveOptions<Mysql2PoolOptions>, "pool"> & KyselyMysql2Config;

/**
 * The request's pool as Kysely's `MysqlDialect` sees it: mysql2's callback pool (the promise pool's `.pool`, bound to
 * the same scope), with an `end()` that does nothing: `db.destroy()` must not close the connections of a request that
 * may still be streaming; the scope closes them after the response.
 */
function requestPool(pool: Pool): MysqlPool {
  const callbackPool = (pool as unknown as { pool: CallbackPool }).pool;
  return {
    getConnection(callback) {
      callbackPool.getConnection(callback as never);
    },
    end(callback) {
      callback(null);
    },
  };
}

/**
 * A Kysely instance on a request's mysql2 `Pool` handle, for code that already has one (Hono's `map`, the scope
 * API). Its queries use the text protocol, so nothing sends COM_STMT_PREPARE. `db.destroy()` leaves the connections
 * to the request scope.
 */
export function createKysely<DB>(pool: Pool, config: KyselyMysql2Config = {}): Kysely<DB> {
  return new Kysely<DB>({ ...config.kysely, dialect: new MysqlDialect({ pool: requestPool(pool) }) });
}

/**
 * Runs `fn` with a request-scoped Kysely instance on mysql2 (`MysqlDialect` over the request's pool; its queries use
 * the text protocol, so nothing sends COM_STMT_PREPARE) and tears the connections down through `ctx.waitUntil`.
 */
export function withKysely<DB, Result>(
  env: unknown,
  ctx: ExecutionContextLike,
  fn: (db: Kysely<DB>, scope: RequestScope) => Result | Promise<Result>,
  options: KyselyMysql2Options = {},
): Promise<Result> {
  const { kysely, ...rest } = options;
  return withHyperdrive(env, ctx, (pool, scope) => fn(createKysely<DB>(pool, { kysely }), scope), {
    ...rest,
    pool: true,
  });
}
