import {
  createObjectHyperdrive,
  type ExecutionContextLike,
  type ObjectHandle,
  type ObjectHandleOptions,
} from "@hyperdrive-kit/core/adapter";
import type { Client, Pool } from "pg";
import { type PgClientOptions, type PgOptions, type PgPoolOptions, pgClientAdapter, pgPoolAdapter } from "./pg.ts";

// Pure: the build makes the package one module, where `sideEffects: false` cannot drop a call made at load. Marked,
// it leaves the object handle out of a Worker that uses only `withHyperdrive` (the bench's size check asserts that).
const forClient = /* @__PURE__ */ createObjectHyperdrive(pgClientAdapter);
const forPool = /* @__PURE__ */ createObjectHyperdrive(pgPoolAdapter);

/**
 * A node-postgres handle for the life of a Durable Object (made once, in a field: `objectHyperdrive(this.ctx, this.env)`):
 * `await this.db.run((client) => …)` in each request reuses one connection (a `Pool` of 5 with `{ pool: true }`),
 * closed after `idleMs` (30 s) without use.
 */
export function objectHyperdrive(
  ctx: ExecutionContextLike,
  env: unknown,
  options?: PgClientOptions & ObjectHandleOptions,
): ObjectHandle<Client>;
export function objectHyperdrive(
  ctx: ExecutionContextLike,
  env: unknown,
  options: PgPoolOptions & ObjectHandleOptions,
): ObjectHandle<Pool>;
export function objectHyperdrive(
  ctx: ExecutionContextLike,
  env: unknown,
  options?: PgOptions & ObjectHandleOptions,
): ObjectHandle<Client> | ObjectHandle<Pool> {
  return options?.pool === true
    ? forPool(ctx, env, options as PgPoolOptions & ObjectHandleOptions)
    : forClient(ctx, env, options as PgClientOptions & ObjectHandleOptions);
}
