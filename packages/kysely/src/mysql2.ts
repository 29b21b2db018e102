import type { ExecutionContextLike, RequestScope, WithHyperdriveOptions } from "@hyperdrive-kit/core";
import { type Mysql2PoolOptions, withHyperdrive } from "@hyperdrive-kit/mysql2";
import { Kysely, type KyselyConfig, MysqlDialect } from "kysely";
import type { Pool as CallbackPool } from "mysql2";

/** Kysely's options besides the dialect, which this package provides. */
export type KyselyOptions = Omit<KyselyConfig, "dialect">;

/**
 * The handle's options (binding, timeouts, `client` for the pool…) and, under `kysely`, Kysely's. Kysely's
 * `MysqlDialect` takes a pool, so the handle is always a per-request `Pool` (of 5 unless `client.connectionLimit`).
 */
export type KyselyMysql2Options = Omit<WithHyperdriveOptions<Mysql2PoolOptions>, "pool"> & { kysely?: KyselyOptions };

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
  return withHyperdrive(
    env,
    ctx,
    // MysqlDialect wants mysql2's callback pool: the promise pool's `.pool`, bound to the same scope.
    (pool, scope) =>
      fn(
        new Kysely<DB>({
          ...kysely,
          dialect: new MysqlDialect({ pool: (pool as unknown as { pool: CallbackPool }).pool }),
        }),
        scope,
      ),
    { ...rest, pool: true },
  );
}
