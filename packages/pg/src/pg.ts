import type { Socket } from "node:net";
import {
  type Adapter,
  type AdapterContext,
  type AttachOptions,
  connectFailure,
  createWithHyperdrive,
  type ExecutionContextLike,
  type OpenedClient,
  type RequestScope,
  refuseCommonUnsafe,
  reportIdleError,
  socketPool,
  type WithHyperdriveOptions,
} from "@hyperdrive-kit/core";
import { Client, type ClientConfig, Pool, type PoolConfig } from "pg";

/** Fields that come from the Hyperdrive binding and cannot be overridden. */
type BindingFields = "connectionString" | "host" | "port" | "user" | "password" | "database" | "stream";

export interface PgClientOptions extends AttachOptions {
  /** Passed to `new Client()` after the binding's connection string. */
  client?: Omit<ClientConfig, BindingFields>;
  pool?: false;
}

export interface PgPoolOptions extends AttachOptions {
  /** A per-request `Pool` for parallel queries; `max` defaults to 5 (Workers allow 6 connections per request). */
  pool: true;
  /** Passed to `new Pool()` after the binding's connection string. */
  client?: Omit<PoolConfig, BindingFields>;
}

export type PgOptions = PgClientOptions | PgPoolOptions;

/** `max` of a per-request pool: one below the Workers limit of six connections per request. */
export const DEFAULT_POOL_MAX = 5;

function refuseUnsafeConfig(context: AdapterContext, config: { ssl?: unknown; max?: number } | undefined): void {
  refuseCommonUnsafe(context, "pg", {
    ssl: config?.ssl,
    connections: { option: "max", value: config?.max, suggested: DEFAULT_POOL_MAX },
  });
}

/** One `Client` per request, connected on first use; `connect()` called by user code returns the same connection. */
export const pgClientAdapter: Adapter<Client, PgClientOptions> = {
  driver: "pg",
  open(context, options): OpenedClient<Client> {
    refuseUnsafeConfig(context, options.client);
    const { scope, binding } = context;
    const sockets = socketPool((error) => reportIdleError(context, "pg", error));
    const client = new Client({
      ...options.client,
      // pg's own default is no timeout: a database that never answers would hang the request.
      connectionTimeoutMillis: options.client?.connectionTimeoutMillis ?? context.connectTimeoutMs,
      connectionString: binding.connectionString,
      stream: () => sockets.create() as unknown as Socket,
    });
    // An idle client's socket error is emitted as 'error'; unhandled, it would crash the request.
    client.on("error", (error) => reportIdleError(context, "pg", error));
    let connecting: Promise<void> | undefined;
    const connect = (): Promise<void> => {
      connecting ??= timed(scope, async () => {
        try {
          await client.connect();
        } catch (error) {
          throw connectFailure(context, "pg", error);
        }
      });
      return connecting;
    };
    return {
      client,
      queryMethods: ["query"],
      overrides: {
        connect(callback?: (error: Error | undefined) => void) {
          const promise = connect();
          if (typeof callback !== "function") return promise;
          promise.then(
            () => callback(undefined),
            (error: Error) => callback(error),
          );
          return undefined;
        },
        query(...args: unknown[]) {
          // pg queues queries until the connection is ready and fails them if it cannot connect, but with its own
          // "Connection terminated unexpectedly": give them the connect's error, which says what went wrong.
          const connected = connect();
          connected.catch(() => {}); // observed below, when the query fails; never an unhandled rejection
          const whyNotConnected = () =>
            connected.then(
              () => undefined,
              (error: unknown) => error,
            );
          const last = args.length - 1;
          const callback = args[last];
          if (typeof callback === "function") {
            args[last] = (error: unknown, ...rest: unknown[]) => {
              if (!error) return callback(error, ...rest);
              void whyNotConnected().then((cause) => callback(cause ?? error, ...rest));
            };
          }
          const result = (client.query as (...a: unknown[]) => unknown)(...args);
          if (!(result instanceof Promise)) return result;
          return result.catch(async (error: unknown) => {
            throw (await whyNotConnected()) ?? error;
          });
        },
      },
      close: async () => {
        if (connecting === undefined) return; // never connected: end() could hang (brianc/node-postgres#3152)
        await connecting.catch(() => {});
        await client.end();
        await sockets.allClosed();
      },
    };
  },
};

/** A `Pool` per request (`max: 5`) for queries that run in parallel; connections open on demand. */
export const pgPoolAdapter: Adapter<Pool, PgPoolOptions> = {
  driver: "pg",
  open(context, options): OpenedClient<Pool> {
    refuseUnsafeConfig(context, options.client);
    const sockets = socketPool((error) => reportIdleError(context, "pg", error));
    const pool = new Pool({
      max: DEFAULT_POOL_MAX,
      ...options.client,
      connectionTimeoutMillis: options.client?.connectionTimeoutMillis ?? context.connectTimeoutMs,
      connectionString: context.binding.connectionString,
      stream: () => sockets.create() as unknown as Socket,
    });
    pool.on("error", (error) => reportIdleError(context, "pg", error));
    return {
      client: pool,
      queryMethods: ["query", "connect"],
      close: async () => {
        await pool.end();
        await sockets.allClosed();
      },
    };
  },
};

async function timed(scope: RequestScope, connect: () => Promise<void>): Promise<void> {
  const started = performance.now();
  try {
    await connect();
    scope.emit({ type: "connect", driver: "pg", durationMs: performance.now() - started });
  } catch (error) {
    scope.emit({ type: "connect", driver: "pg", durationMs: performance.now() - started, error });
    throw error;
  }
}

const withClient = createWithHyperdrive(pgClientAdapter);
const withPool = createWithHyperdrive(pgPoolAdapter);

/**
 * Runs `fn` with a request-scoped node-postgres `Client` (or, with `{ pool: true }`, a `Pool` of up to 5
 * connections) on the Hyperdrive binding, and closes it through `ctx.waitUntil` once the work has settled.
 */
export function withHyperdrive<Result>(
  env: unknown,
  ctx: ExecutionContextLike,
  fn: (db: Client, scope: RequestScope) => Result | Promise<Result>,
  options?: WithHyperdriveOptions<PgClientOptions>,
): Promise<Result>;
export function withHyperdrive<Result>(
  env: unknown,
  ctx: ExecutionContextLike,
  fn: (db: Pool, scope: RequestScope) => Result | Promise<Result>,
  options: WithHyperdriveOptions<PgPoolOptions>,
): Promise<Result>;
export function withHyperdrive<Result>(
  env: unknown,
  ctx: ExecutionContextLike,
  fn: (db: never, scope: RequestScope) => Result | Promise<Result>,
  options?: WithHyperdriveOptions<PgOptions>,
): Promise<Result> {
  return options?.pool === true
    ? withPool(env, ctx, fn as (db: Pool, scope: RequestScope) => Result | Promise<Result>, options)
    : withClient(env, ctx, fn as (db: Client, scope: RequestScope) => Result | Promise<Result>, options);
}
