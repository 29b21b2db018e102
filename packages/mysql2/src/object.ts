import {
  createObjectHyperdrive,
  type ExecutionContextLike,
  type ObjectHandle,
  type ObjectHandleOptions,
} from "@hyperdrive-kit/core/adapter";
import type { Pool } from "mysql2/promise";
import {
  type Mysql2Connection,
  type Mysql2ConnectionOptions,
  type Mysql2Options,
  type Mysql2PoolOptions,
  mysql2ConnectionAdapter,
  mysql2PoolAdapter,
} from "./mysql2.ts";

// Pure: the build makes the package one module, where `sideEffects: false` cannot drop a call made at load. Marked,
// it leaves the object handle out of a Worker that uses only `withHyperdrive` (the bench's size check asserts that).
const forConnection = /* @__PURE__ */ createObjectHyperdrive(mysql2ConnectionAdapter);
const forPool = /* @__PURE__ */ createObjectHyperdrive(mysql2PoolAdapter);

/**
 * A mysql2 handle for the life of a Durable Object (made once, in a field: `objectHyperdrive(this.ctx, this.env)`):
 * `await this.db.run((db) => …)` in each request reuses one connection (a `Pool` of 5 with `{ pool: true }`), closed
 * after `idleMs` (30 s) without use.
 */
export function objectHyperdrive(
  ctx: ExecutionContextLike,
  env: unknown,
  options?: Mysql2ConnectionOptions & ObjectHandleOptions,
): ObjectHandle<Mysql2Connection>;
export function objectHyperdrive(
  ctx: ExecutionContextLike,
  env: unknown,
  options: Mysql2PoolOptions & ObjectHandleOptions,
): ObjectHandle<Pool>;
export function objectHyperdrive(
  ctx: ExecutionContextLike,
  env: unknown,
  options?: Mysql2Options & ObjectHandleOptions,
): ObjectHandle<Mysql2Connection> | ObjectHandle<Pool> {
  return options?.pool === true
    ? forPool(ctx, env, options as Mysql2PoolOptions & ObjectHandleOptions)
    : forConnection(ctx, env, options as Mysql2ConnectionOptions & ObjectHandleOptions);
}
