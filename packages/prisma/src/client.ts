import { type DriverName, HyperdriveError, type RequestScope } from "@hyperdrive-kit/core";
import { type Binder, DEFAULT_CONNECT_TIMEOUT_MS, type GuardSpec, guard } from "@hyperdrive-kit/core/adapter";

/** What a generated `PrismaClient` class is to this package: built with a driver adapter, nothing else assumed. */
// biome-ignore lint/suspicious/noExplicitAny: the generated constructor's options are generic
export type PrismaClientClass<Adapter> = new (options: { adapter: Adapter } & any) => object;

/**
 * Prisma's own options (`log`, `errorFormat`, `transactionOptions`, `omit`, `comments`…) for `new PrismaClient()`;
 * `adapter` is this package's.
 */
export type PrismaOptions<Class> = Class extends new (
  options: infer Options,
) => unknown
  ? Omit<NonNullable<Options>, "adapter">
  : never;

/** The keys of this package's own options; every other key goes to the driver's handle. */
export interface PrismaKeys<Class, AdapterOptions> {
  /** Your generated `PrismaClient` class (`import { PrismaClient } from "./generated/prisma/client"`). */
  PrismaClient: Class;
  /** Options for `new PrismaClient()` besides `adapter`. */
  prisma?: PrismaOptions<Class>;
  /** Options for Prisma's driver adapter (`new PrismaPg(pool, options)`, `new PrismaMariaDb(pool, options)`). */
  adapterOptions?: AdapterOptions;
}

type OwnKey = "PrismaClient" | "prisma" | "adapterOptions";

/** Splits one options object into this package's keys and the handle's options (which the adapter checks). */
export function splitPrismaOptions<Options extends { PrismaClient: unknown }>(
  options: Options,
): [Pick<Options, Extract<keyof Options, OwnKey>>, Omit<Options, OwnKey>] {
  const { PrismaClient, prisma, adapterOptions, ...rest } = options as Options & Record<OwnKey, unknown>;
  if (typeof PrismaClient !== "function") {
    throw new TypeError(
      "withPrisma needs your generated client class: pass `{ PrismaClient }` (import { PrismaClient } from your generator's output).",
    );
  }
  return [{ PrismaClient, prisma: withStartBound(prisma, rest), adapterOptions } as never, rest as never];
}

/** Slack between the handle's bounds and Prisma's `maxWait`, so the handle's typed error arrives first. */
const MAX_WAIT_SLACK_MS = 1_000;

/**
 * Prisma's options with `transactionOptions.maxWait` (how long an interactive or batch `$transaction` waits to start:
 * a connection, then BEGIN) above the handle's own bounds when the user did not set it. Prisma's default, 2 s, is
 * shorter than `connectTimeoutMs` (10 s): on a slow connect Prisma gave up first with an untyped `P2028` ("Unable to
 * start a transaction in the given time") while the connection would have opened, or failed with its typed error.
 */
function withStartBound(prisma: unknown, handle: { connectTimeoutMs?: unknown; queryTimeoutMs?: unknown }): unknown {
  const given = prisma as { transactionOptions?: { maxWait?: unknown } } | undefined;
  if (given?.transactionOptions?.maxWait !== undefined) return prisma;
  const connect = typeof handle.connectTimeoutMs === "number" ? handle.connectTimeoutMs : DEFAULT_CONNECT_TIMEOUT_MS;
  const begin = typeof handle.queryTimeoutMs === "number" ? handle.queryTimeoutMs : 0;
  const maxWait = connect + begin + MAX_WAIT_SLACK_MS;
  return { ...given, transactionOptions: { ...given?.transactionOptions, maxWait } };
}

/**
 * Refuses `disposeExternalPool: true` (the types leave it out; JavaScript and casts can still pass it): the request's
 * scope owns the pool and closes it after the work, and a Prisma adapter that ended it on `$disconnect()` would close
 * connections a streamed body or `scope.waitUntil` work may still use.
 */
export function refuseDisposeExternalPool(adapterOptions: unknown, driver: DriverName): void {
  if ((adapterOptions as { disposeExternalPool?: unknown } | undefined)?.disposeExternalPool !== true) return;
  throw new HyperdriveError("HDK_INVALID_OPTION", {
    driver,
    context:
      "`adapterOptions.disposeExternalPool: true` was passed, but the request's scope owns the pool and closes it once the work has settled.",
    fix: "Remove `disposeExternalPool` from `adapterOptions`: the handle closes the pool after the request's work.",
  });
}

/** Prisma's client and model methods answer with a (lazy) PrismaPromise, except these, which return at once. */
const SYNCHRONOUS = new Set<PropertyKey>(["$extends", "$on", "$use"]);
function prismaReturnsPromise(property: PropertyKey): boolean {
  return !SYNCHRONOUS.has(property);
}

// A client's calls are checked against the scope and nothing more: its errors stay Prisma's own (P-codes), and the
// driver handle under it maps what it throws.
const CLIENT: GuardSpec = { queryMethods: [], callIsQuery: false, returnsPromise: prismaReturnsPromise };

/**
 * A Prisma client (`$transaction`'s `tx`, `$extends()`'s result) or a model delegate (`prisma.user`): what can
 * start a query. Its promises are Prisma's lazy `PrismaPromise`s, which run through the guarded driver handle.
 */
const bindPrisma: Binder = (value) => {
  const v = value as { $queryRaw?: unknown; findMany?: unknown; then?: unknown };
  if (typeof v.then === "function") return undefined;
  return typeof v.$queryRaw === "function" || typeof v.findMany === "function" ? CLIENT : undefined;
};

/**
 * Puts `client` behind the scope guard: a client (or its `tx`, or a model delegate) kept past its request fails at
 * the call, before Prisma does anything, with the scope's typed error.
 */
export function guardPrismaClient<Client extends object>(
  client: Client,
  scope: RequestScope,
  driver: DriverName,
): Client {
  return guard(client, CLIENT, { driver, scope, secrets: [], bind: bindPrisma });
}
