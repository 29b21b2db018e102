import {
  type ExecutionContextLike,
  HyperdriveError,
  type RequestScope,
  type WithHyperdriveOptions,
} from "@hyperdrive-kit/core";
import { attach, createWithHyperdrive } from "@hyperdrive-kit/core/adapter";
import { PrismaMariaDb } from "@prisma/adapter-mariadb";
import {
  guardPrismaClient,
  type PrismaClientClass,
  type PrismaKeys,
  refuseDisposeExternalPool,
  splitPrismaOptions,
} from "./client.ts";
import { type MariadbPoolOptions, mariadbPoolAdapter, type RequestPool } from "./mariadb-pool.ts";

// Errors and their classification, so a Worker needs one import.
export { classify, findHyperdriveError, HyperdriveError, isHyperdriveError } from "@hyperdrive-kit/core";
export type { MariadbPoolOptions } from "./mariadb-pool.ts";
export { DEFAULT_CONNECTION_LIMIT, mariadbPoolAdapter } from "./mariadb-pool.ts";

/**
 * `new PrismaMariaDb(pool, options)`'s options. `useTextProtocol` is always on (Hyperdrive refuses the binary
 * protocol's COM_STMT_PREPARE); `disposeExternalPool` is left out: the request's scope owns the connections.
 */
export type PrismaMariaDbAdapterOptions = Omit<
  NonNullable<ConstructorParameters<typeof PrismaMariaDb>[1]>,
  "disposeExternalPool" | "useTextProtocol"
> & { useTextProtocol?: true };

/**
 * `PrismaClient` (your generated class), Prisma's options under `prisma`, `PrismaMariaDb`'s under `adapterOptions`,
 * and the handle's (binding, timeouts, `connectionLimit`, `client` for each `mariadb` connection…).
 */
export type PrismaMariaDbOptions<Class> = PrismaKeys<Class, PrismaMariaDbAdapterOptions> &
  WithHyperdriveOptions<MariadbPoolOptions>;

type AnyPrismaClass = PrismaClientClass<PrismaMariaDb>;

function prismaOnPool<Class extends AnyPrismaClass>(
  pool: RequestPool,
  scope: RequestScope,
  { PrismaClient, prisma, adapterOptions }: PrismaKeys<Class, PrismaMariaDbAdapterOptions>,
): InstanceType<Class> {
  refuseDisposeExternalPool(adapterOptions, "mariadb");
  if ((adapterOptions as { useTextProtocol?: unknown } | undefined)?.useTextProtocol === false) {
    throw new HyperdriveError("HDK_HYPERDRIVE_MYSQL_PREPARE_UNSUPPORTED", {
      driver: "mariadb",
      context: "`useTextProtocol: false` was passed; the binary protocol prepares every statement. Nothing was sent.",
    });
  }
  const adapter = new PrismaMariaDb(pool as never, { ...adapterOptions, useTextProtocol: true });
  const client = new PrismaClient({ ...prisma, adapter }) as InstanceType<Class>;
  return guardPrismaClient(client, scope, "mariadb");
}

const withPool = createWithHyperdrive(mariadbPoolAdapter);

/**
 * Runs `fn` with a request-scoped `PrismaClient` on `@prisma/adapter-mariadb` (text protocol: nothing is prepared)
 * over the request's own `mariadb` connections, and closes them through `ctx.waitUntil` once the work has settled.
 * The client, its transactions and its model delegates fail at once with a typed error when kept past the request.
 */
export function withPrisma<Class extends AnyPrismaClass, Result>(
  env: unknown,
  ctx: ExecutionContextLike,
  fn: (prisma: InstanceType<Class>, scope: RequestScope) => Result | Promise<Result>,
  options: PrismaMariaDbOptions<Class>,
): Promise<Result> {
  const [keys, rest] = splitPrismaOptions(options);
  return withPool(env, ctx, (pool, scope) => fn(prismaOnPool<Class>(pool, scope, keys), scope), rest);
}

/** Puts a `PrismaClient` on a scope you manage (`openScope()`, middleware): what `withPrisma` does in its callback. */
export function attachPrisma<Class extends AnyPrismaClass>(
  scope: RequestScope,
  env: unknown,
  options: PrismaKeys<Class, PrismaMariaDbAdapterOptions> & MariadbPoolOptions,
): InstanceType<Class> {
  const [keys, rest] = splitPrismaOptions(options);
  return prismaOnPool<Class>(attach(mariadbPoolAdapter, scope, env, rest), scope, keys);
}
