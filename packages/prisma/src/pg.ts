import {
  type ExecutionContextLike,
  HyperdriveError,
  type RequestScope,
  type WithHyperdriveOptions,
} from "@hyperdrive-kit/core";
import { attach } from "@hyperdrive-kit/core/adapter";
import { type PgPoolOptions, pgPoolAdapter, withHyperdrive } from "@hyperdrive-kit/pg";
import { PrismaPg } from "@prisma/adapter-pg";
import type { Pool } from "pg";
import {
  guardPrismaClient,
  type PrismaClientClass,
  type PrismaKeys,
  refuseDisposeExternalPool,
  splitPrismaOptions,
} from "./client.ts";
import { containTransactionClose } from "./transaction-close.ts";

// Errors and their classification, so a Worker needs one import.
export { classify, findHyperdriveError, HyperdriveError, isHyperdriveError } from "@hyperdrive-kit/core";

/** `new PrismaPg(pool, options)`'s options; `disposeExternalPool` is left out: the request's scope owns the pool. */
export type PrismaPgAdapterOptions = Omit<
  NonNullable<ConstructorParameters<typeof PrismaPg>[1]>,
  "disposeExternalPool"
>;

/**
 * `PrismaClient` (your generated class), Prisma's options under `prisma`, `PrismaPg`'s under `adapterOptions`, and
 * the handle's (binding, timeouts, `client` for the pg `Pool`…). `PrismaPg` takes a `pg.Pool`, so the handle is a
 * per-request `Pool` (of 5 connections unless `client.max` says otherwise).
 */
export type PrismaPgOptions<Class> = PrismaKeys<Class, PrismaPgAdapterOptions> &
  Omit<WithHyperdriveOptions<PgPoolOptions>, "pool">;

type AnyPrismaClass = PrismaClientClass<PrismaPg>;

/** Builds the request's `PrismaClient` on the request's guarded pool. */
function prismaOnPool<Class extends AnyPrismaClass>(
  pool: Pool,
  scope: RequestScope,
  { PrismaClient, prisma, adapterOptions }: PrismaKeys<Class, PrismaPgAdapterOptions>,
): InstanceType<Class> {
  refuseDisposeExternalPool(adapterOptions, "pg");
  const adapter = new PrismaPg(pool, { ...adapterOptions, disposeExternalPool: false });
  // PrismaPg recognises a pool with `instanceof pg.Pool`; with a second copy of `pg` it would build a pool of its own
  // from the options, outside the request's scope.
  if ((adapter as unknown as { externalPool: unknown }).externalPool !== pool) {
    throw new HyperdriveError("HDK_INVALID_OPTION", {
      driver: "pg",
      context:
        "@prisma/adapter-pg did not accept the request's pool: it loaded another copy of `pg` than @hyperdrive-kit/pg.",
      fix: "Install one `pg` version for both (check `npm ls pg`; dedupe, or align the version ranges).",
    });
  }
  // adapter-pg's transactions run COMMIT and ROLLBACK as queries, and Prisma answers a failed COMMIT (a killed
  // backend, a lost connection) with a rollback chain that workerd reports as an unhandled rejection.
  const client = new PrismaClient({ ...prisma, adapter: containTransactionClose(adapter) }) as InstanceType<Class>;
  return guardPrismaClient(client, scope, "pg");
}

/**
 * Runs `fn` with a request-scoped `PrismaClient` on `@prisma/adapter-pg` over the request's pg `Pool`, and tears the
 * pool down through `ctx.waitUntil` once the work (a streamed body included) has settled. The client, its
 * transactions and its model delegates fail at once with a typed error when kept past the request.
 */
export function withPrisma<Class extends AnyPrismaClass, Result>(
  env: unknown,
  ctx: ExecutionContextLike,
  fn: (prisma: InstanceType<Class>, scope: RequestScope) => Result | Promise<Result>,
  options: PrismaPgOptions<Class>,
): Promise<Result> {
  const [keys, rest] = splitPrismaOptions(options);
  return withHyperdrive(env, ctx, (pool, scope) => fn(prismaOnPool<Class>(pool, scope, keys), scope), {
    ...rest,
    pool: true,
  });
}

/**
 * Puts a `PrismaClient` on a scope you manage (`openScope()`, middleware): what `withPrisma` does inside its
 * callback. Scope options (`teardown`, `onEvent`…) belong to `openScope()`, not here.
 */
export function attachPrisma<Class extends AnyPrismaClass>(
  scope: RequestScope,
  env: unknown,
  options: PrismaKeys<Class, PrismaPgAdapterOptions> & Omit<PgPoolOptions, "pool">,
): InstanceType<Class> {
  const [keys, rest] = splitPrismaOptions(options);
  return prismaOnPool<Class>(attach(pgPoolAdapter, scope, env, { ...rest, pool: true }), scope, keys);
}
