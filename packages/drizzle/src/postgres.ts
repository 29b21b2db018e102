import type { ExecutionContextLike, RequestScope, WithHyperdriveOptions } from "@hyperdrive-kit/core";
import { type PostgresOptions, type Sql, withHyperdrive } from "@hyperdrive-kit/postgres";
import type { DrizzleConfig } from "drizzle-orm";
import { drizzle, type PostgresJsDatabase } from "drizzle-orm/postgres-js";
import { splitOptions } from "./options.ts";
import { preparedSql } from "./prepared-sql.ts";

// Errors and their classification, so a Worker needs one import (they read through Drizzle's DrizzleQueryError).
export { classify, findHyperdriveError, HyperdriveError, isHyperdriveError } from "@hyperdrive-kit/core";

type Schema = Record<string, unknown>;

/** The handle's options (binding, timeouts, `client`…) and Drizzle's (`schema`, `casing`, `logger`, `cache`). */
export type DrizzlePostgresOptions<TSchema extends Schema> = WithHyperdriveOptions<PostgresOptions> &
  DrizzleConfig<TSchema>;

/** A Drizzle instance over the request's Postgres.js handle. */
export type DrizzlePostgres<TSchema extends Schema = Record<string, never>> = PostgresJsDatabase<TSchema> & {
  $client: Sql;
};

/**
 * A Drizzle instance on a request's Postgres.js handle, for code that already has one (Hono's `map`, the scope
 * API): the instance `withDrizzle` builds, whose queries are named prepared statements.
 */
export function createDrizzle<TSchema extends Schema = Record<string, never>>(
  sql: Sql,
  config?: DrizzleConfig<TSchema>,
): DrizzlePostgres<TSchema> {
  return drizzle(preparedSql(sql), config ?? {}) as DrizzlePostgres<TSchema>;
}

/**
 * Runs `fn` with a request-scoped Drizzle instance on Postgres.js, whose queries are named prepared statements so
 * that Hyperdrive can cache the reads (Drizzle itself asks `unsafe()` for `prepare: false`), and tears the
 * connection down through `ctx.waitUntil` once the work has settled. The instance, its transactions and its
 * queries fail with a typed error when kept past the request.
 */
export function withDrizzle<Result, TSchema extends Schema = Record<string, never>>(
  env: unknown,
  ctx: ExecutionContextLike,
  fn: (db: DrizzlePostgres<TSchema>, scope: RequestScope) => Result | Promise<Result>,
  options?: DrizzlePostgresOptions<TSchema>,
): Promise<Result> {
  const [config, rest] = splitOptions<DrizzleConfig<TSchema>, WithHyperdriveOptions<PostgresOptions>>(options);
  return withHyperdrive(env, ctx, (sql, scope) => fn(createDrizzle(sql, config), scope), rest);
}
