import type { ExecutionContextLike, RequestScope, WithHyperdriveOptions } from "@hyperdrive-kit/core";
import { type PgPoolOptions, withHyperdrive } from "@hyperdrive-kit/pg";
import { Kysely, type KyselyConfig, PostgresDialect } from "kysely";

/** Kysely's options besides the dialect, which this package provides. */
export type KyselyOptions = Omit<KyselyConfig, "dialect">;

/**
 * The handle's options (binding, timeouts, `client` for the pool…) and, under `kysely`, Kysely's. Kysely's
 * `PostgresDialect` takes a pool, so the handle is always a per-request `Pool` (of 5 unless `client.max` says).
 */
export type KyselyPgOptions = Omit<WithHyperdriveOptions<PgPoolOptions>, "pool"> & { kysely?: KyselyOptions };

/**
 * Runs `fn` with a request-scoped Kysely instance on node-postgres (`PostgresDialect` over the request's pool) and
 * tears the connections down through `ctx.waitUntil` once the work has settled.
 */
export function withKysely<DB, Result>(
  env: unknown,
  ctx: ExecutionContextLike,
  fn: (db: Kysely<DB>, scope: RequestScope) => Result | Promise<Result>,
  options: KyselyPgOptions = {},
): Promise<Result> {
  const { kysely, ...rest } = options;
  return withHyperdrive(
    env,
    ctx,
    (pool, scope) => fn(new Kysely<DB>({ ...kysely, dialect: new PostgresDialect({ pool }) }), scope),
    { ...rest, pool: true },
  );
}
