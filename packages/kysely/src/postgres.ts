import type { ExecutionContextLike, RequestScope, WithHyperdriveOptions } from "@hyperdrive-kit/core";
import { type PostgresOptions, withHyperdrive } from "@hyperdrive-kit/postgres";
import { Kysely, type KyselyConfig } from "kysely";
import { PostgresJsDialect } from "./postgres-js-dialect.ts";

export { PostgresJsDialect } from "./postgres-js-dialect.ts";

/** Kysely's options besides the dialect, which this package provides. */
export type KyselyOptions = Omit<KyselyConfig, "dialect">;

/** The handle's options (binding, timeouts, `client`…) and, under `kysely`, Kysely's (`plugins`, `log`). */
export type KyselyPostgresOptions = WithHyperdriveOptions<PostgresOptions> & { kysely?: KyselyOptions };

/**
 * Runs `fn` with a request-scoped Kysely instance on Postgres.js, whose queries are prepared statements Hyperdrive
 * can cache, and tears the connection down through `ctx.waitUntil` once the work has settled.
 */
export function withKysely<DB, Result>(
  env: unknown,
  ctx: ExecutionContextLike,
  fn: (db: Kysely<DB>, scope: RequestScope) => Result | Promise<Result>,
  options: KyselyPostgresOptions = {},
): Promise<Result> {
  const { kysely, ...rest } = options;
  return withHyperdrive(
    env,
    ctx,
    (sql, scope) => fn(new Kysely<DB>({ ...kysely, dialect: new PostgresJsDialect(sql) }), scope),
    rest,
  );
}
