import type { ExecutionContextLike, RequestScope, WithHyperdriveOptions } from "@hyperdrive-kit/core";
import {
  type Mysql2ConnectionOptions,
  type Mysql2Options,
  type Mysql2PoolOptions,
  withHyperdrive,
} from "@hyperdrive-kit/mysql2";
import { drizzle, type MySql2Database, type MySql2DrizzleConfig } from "drizzle-orm/mysql2";
import type { Connection, Pool } from "mysql2/promise";
import { splitOptions } from "./options.ts";

// Errors and their classification, so a Worker needs one import (they read through Drizzle's DrizzleQueryError).
export { classify, findHyperdriveError, HyperdriveError, isHyperdriveError } from "@hyperdrive-kit/core";

type Schema = Record<string, unknown>;

/**
 * The handle's options (binding, timeouts, `pool`, `client`…) and Drizzle's (`schema`, `mode`, `casing`, `logger`,
 * `cache`). `mode` defaults to `"default"`, which Drizzle needs when a `schema` is given.
 */
export type DrizzleMysql2Options<
  TSchema extends Schema,
  Options extends Mysql2Options = Mysql2Options,
> = WithHyperdriveOptions<Options> & MySql2DrizzleConfig<TSchema>;

/** A Drizzle instance over the request's mysql2 `Connection` (or `Pool`, with `{ pool: true }`). */
export type DrizzleMysql2<
  TSchema extends Schema = Record<string, never>,
  Driver extends Connection | Pool = Connection,
> = MySql2Database<TSchema> & { $client: Driver };

/**
 * A Drizzle instance on a request's mysql2 `Connection` or `Pool` handle, for code that already has one (Hono's
 * `map`). `mode` defaults to `"default"`, which Drizzle needs when a `schema` is given.
 */
export function createDrizzle<
  TSchema extends Schema = Record<string, never>,
  Driver extends Connection | Pool = Connection,
>(client: Driver, config?: MySql2DrizzleConfig<TSchema>): DrizzleMysql2<TSchema, Driver> {
  return drizzle(client, { mode: "default", ...config }) as unknown as DrizzleMysql2<TSchema, Driver>;
}

/**
 * Runs `fn` with a request-scoped Drizzle instance on mysql2 and tears the connection down through `ctx.waitUntil`
 * once the work has settled. Every Drizzle path (queries, `db.execute()`, relational queries, `.prepare()`,
 * transactions) runs over the text protocol: nothing sends COM_STMT_PREPARE, which Hyperdrive refuses.
 */
export function withDrizzle<Result, TSchema extends Schema = Record<string, never>>(
  env: unknown,
  ctx: ExecutionContextLike,
  fn: (db: DrizzleMysql2<TSchema, Connection>, scope: RequestScope) => Result | Promise<Result>,
  options?: DrizzleMysql2Options<TSchema, Mysql2ConnectionOptions>,
): Promise<Result>;
export function withDrizzle<Result, TSchema extends Schema = Record<string, never>>(
  env: unknown,
  ctx: ExecutionContextLike,
  fn: (db: DrizzleMysql2<TSchema, Pool>, scope: RequestScope) => Result | Promise<Result>,
  options: DrizzleMysql2Options<TSchema, Mysql2PoolOptions>,
): Promise<Result>;
export function withDrizzle<Result, TSchema extends Schema = Record<string, never>>(
  env: unknown,
  ctx: ExecutionContextLike,
  fn: (db: never, scope: RequestScope) => Result | Promise<Result>,
  options?: DrizzleMysql2Options<TSchema>,
): Promise<Result> {
  const [config, rest] = splitOptions<MySql2DrizzleConfig<TSchema>, WithHyperdriveOptions<Mysql2ConnectionOptions>>(
    options,
  );
  return withHyperdrive(
    env,
    ctx,
    (client: Connection | Pool, scope: RequestScope) => fn(createDrizzle(client, config) as never, scope),
    rest,
  );
}
