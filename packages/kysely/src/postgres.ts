import type { ExecutionContextLike, RequestScope, WithHyperdriveOptions } from "@hyperdrive-kit/core";
import { type PostgresOptions, type Sql, withHyperdrive } from "@hyperdrive-kit/postgres";
import { Kysely } from "kysely";
import type { KyselyOptions } from "./options.ts";
import { PostgresJsDialect } from "./postgres-js-dialect.ts";

// Errors and their classification, so a Worker needs one import.
export { classify, findHyperdriveError, HyperdriveError, isHyperdriveError } from "@hyperdrive-kit/core";

export type { KyselyOptions } from "./options.ts";
export { PostgresJsDialect } from "./postgres-js-dialect.ts";

/** What the Kysely instance is built with: Kysely's own options. */
export interface KyselyPostgresConfig {
  /** Kysely's options besides the dialect (`plugins`, `log`). */
  kysely?: KyselyOptions;
}

/** The handle's options (binding, timeouts, `client`…) and, under `kysely`, Kysely's (`plugins`, `log`). */
export type KyselyPostgresOptions = WithHyperdriveOptions<PostgresOptions> & KyselyPostgresConfig;

/**
 * A Kysely instance on a request's Postgres.js handle, for code that already has one (Hono's `map`, the scope API).
 * Its queries are prepared statements Hyperdrive can cache; `db.destroy()` leaves the connection to the scope.
 */
export function createKysely<DB>(sql: Sql, config: KyselyPostgresConfig = {}): Kysely<DB> {
  return new Kysely<DB>({ ...config.kysely, dialect: new PostgresJsDialect(sql) });
}

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
  return withHyperdrive(env, ctx, (sql, scope) => fn(createKysely<DB>(sql, { kysely }), scope), rest);
}
