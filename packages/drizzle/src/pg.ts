import type { ExecutionContextLike, RequestScope, WithHyperdriveOptions } from "@hyperdrive-kit/core";
import { type PgClientOptions, type PgOptions, type PgPoolOptions, withHyperdrive } from "@hyperdrive-kit/pg";
import type { DrizzleConfig } from "drizzle-orm";
import { drizzle, type NodePgDatabase } from "drizzle-orm/node-postgres";
import type { Client, Pool } from "pg";
import { splitOptions } from "./options.ts";

// Errors and their classification, so a Worker needs one import (they read through Drizzle's DrizzleQueryError).
export { classify, findHyperdriveError, HyperdriveError, isHyperdriveError } from "@hyperdrive-kit/core";

type Schema = Record<string, unknown>;

/** The handle's options (binding, timeouts, `pool`, `client`…) and Drizzle's (`schema`, `casing`, `logger`, `cache`). */
export type DrizzlePgOptions<
  TSchema extends Schema,
  Options extends PgOptions = PgOptions,
> = WithHyperdriveOptions<Options> & DrizzleConfig<TSchema>;

/** A Drizzle instance over the request's node-postgres `Client` (or `Pool`, with `{ pool: true }`). */
export type DrizzlePg<
  TSchema extends Schema = Record<string, never>,
  Driver extends Client | Pool = Client,
> = NodePgDatabase<TSchema> & { $client: Driver };

/** A Drizzle instance on a request's pg `Client` or `Pool` handle, for code that already has one (Hono's `map`). */
export function createDrizzle<TSchema extends Schema = Record<string, never>, Driver extends Client | Pool = Client>(
  client: Driver,
  config?: DrizzleConfig<TSchema>,
): DrizzlePg<TSchema, Driver> {
  return drizzle(client, config ?? {}) as unknown as DrizzlePg<TSchema, Driver>;
}

/**
 * Runs `fn` with a request-scoped Drizzle instance on node-postgres and tears the connection down through
 * `ctx.waitUntil` once the work has settled. With `{ pool: true }`, transactions take a client of the request's pool
 * and other queries run in parallel. The instance, its transactions and its queries fail with a typed error when
 * kept past the request.
 */
export function withDrizzle<Result, TSchema extends Schema = Record<string, never>>(
  env: unknown,
  ctx: ExecutionContextLike,
  fn: (db: DrizzlePg<TSchema, Client>, scope: RequestScope) => Result | Promise<Result>,
  options?: DrizzlePgOptions<TSchema, PgClientOptions>,
): Promise<Result>;
export function withDrizzle<Result, TSchema extends Schema = Record<string, never>>(
  env: unknown,
  ctx: ExecutionContextLike,
  fn: (db: DrizzlePg<TSchema, Pool>, scope: RequestScope) => Result | Promise<Result>,
  options: DrizzlePgOptions<TSchema, PgPoolOptions>,
): Promise<Result>;
export function withDrizzle<Result, TSchema extends Schema = Record<string, never>>(
  env: unknown,
  ctx: ExecutionContextLike,
  fn: (db: never, scope: RequestScope) => Result | Promise<Result>,
  options?: DrizzlePgOptions<TSchema>,
): Promise<Result> {
  const [config, rest] = splitOptions<DrizzleConfig<TSchema>, WithHyperdriveOptions<PgClientOptions>>(options);
  return withHyperdrive(
    env,
    ctx,
    (client: Client | Pool, scope: RequestScope) => fn(createDrizzle(client, config) as never, scope),
    rest,
  );
}
