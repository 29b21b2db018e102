import type { ExecutionContextLike, RequestScope, WithHyperdriveOptions } from "@hyperdrive-kit/core";
import { type PgPoolOptions, withHyperdrive } from "@hyperdrive-kit/pg";
import { Kysely, type PostgresCursorConstructor, PostgresDialect, type PostgresPool } from "kysely";
import type { Pool } from "pg";
import type { KyselyOptions } from "./options.ts";

// Errors and their classification, so a Worker needs one import.
export { classify, findHyperdriveError, HyperdriveError, isHyperdriveError } from "@hyperdrive-kit/core";

export type { KyselyOptions } from "./options.ts";

/** What the Kysely instance is built with: Kysely's own options and, for `.stream()`, pg-cursor's `Cursor`. */
export interface KyselyPgConfig {
  /** Kysely's options besides the dialect (`plugins`, `log`). */
  kysely?: KyselyOptions;
  /** `Cursor` from `pg-cursor`, which Kysely's `PostgresDialect` needs for `.stream()`. */
  cursor?: PostgresCursorConstructor;
}

/**
 * The handle's options (binding, timeouts, `client` for the pool…), Kysely's under `kysely`, and `cursor`. Kysely's
 * `PostgresDialect` takes a pool, so the handle is always a per-request `Pool` (of 5 unless `client.max` says).
 */
export type KyselyPgOptions = Omit<WithHyperdriveOptions<PgPoolOptions>, "pool"> & KyselyPgConfig;

/**
 * The request's pool as Kysely's `PostgresDialect` sees it. `connect()` is async so that a handle used past its
 * request fails as a rejection Kysely awaits: thrown synchronously, it rejects Kysely's own promise before Kysely
 * listens, which workerd reports as an unhandled rejection. `end()` does nothing: `db.destroy()` must not close the
 * connections of a request that may still be streaming; the scope closes them after the response.
 * No `Client`: Kysely then cancels an aborted query through this pool too, never on a connection of its own.
 */
function requestPool(pool: Pool): PostgresPool {
  return {
    async connect() {
      return pool.connect();
    },
    async end() {},
    options: {},
  };
}

/**
 * A Kysely instance on a request's pg `Pool` handle, for code that already has one (Hono's `map`, the scope API).
 * `db.destroy()` leaves the connections to the request scope.
 */
export function createKysely<DB>(pool: Pool, config: KyselyPgConfig = {}): Kysely<DB> {
  const dialect = new PostgresDialect({ pool: requestPool(pool), ...(config.cursor ? { cursor: config.cursor } : {}) });
  return new Kysely<DB>({ ...config.kysely, dialect });
}

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
  const { kysely, cursor, ...rest } = options;
  return withHyperdrive(env, ctx, (pool, scope) => fn(createKysely<DB>(pool, { kysely, cursor }), scope), {
    ...rest,
    pool: true,
  });
}
