import {
  type Adapter,
  type AttachOptions,
  createWithHyperdrive,
  type OpenedClient,
  refuseCommonUnsafe,
  refuseUnsafe,
  reportIdleError,
  socketPool,
} from "@hyperdrive-kit/core";
import postgres from "postgres";

/** Fields that come from the Hyperdrive binding, and the socket this adapter provides. */
type BindingFields =
  | "host"
  | "hostname"
  | "port"
  | "path"
  | "user"
  | "username"
  | "pass"
  | "password"
  | "database"
  | "db"
  | "socket";

export type PostgresClientOptions = Omit<postgres.Options<Record<string, postgres.PostgresType>>, BindingFields>;

export interface PostgresOptions extends AttachOptions {
  /** Passed to `postgres()`, merged over Hyperdrive's defaults `{ max: 5, fetch_types: false, prepare: true }`. */
  client?: PostgresClientOptions;
}

export type Sql = postgres.Sql<Record<string, never>>;

/** Cloudflare's recommended Postgres.js options for Hyperdrive. */
export const HYPERDRIVE_DEFAULTS = { max: 5, fetch_types: false, prepare: true } as const;

export const postgresAdapter: Adapter<Sql, PostgresOptions> = {
  driver: "postgres",
  open(context, options): OpenedClient<Sql> {
    const client = options.client ?? {};
    if (client.prepare === false) {
      refuseUnsafe(context, "postgres", "prepare", "`prepare: false` was passed.", "HDK_PREPARE_FALSE_DEFEATS_CACHING");
    }
    refuseCommonUnsafe(context, "postgres", {
      ssl: client.ssl,
      connections: { option: "max", value: client.max, suggested: HYPERDRIVE_DEFAULTS.max },
    });
    const { binding, scope } = context;
    const onOrphanError = (error: unknown) => reportIdleError(context, "postgres", error);
    const sockets = socketPool(onOrphanError);
    // `socket` is a supported option that Postgres.js's types leave out.
    const config = {
      ...HYPERDRIVE_DEFAULTS,
      ...client,
      host: binding.host,
      port: binding.port,
      user: binding.user,
      password: binding.password,
      database: binding.database,
      ssl: client.ssl ?? false,
      // Postgres.js counts seconds; 30 by default, which is longer than a request should wait.
      connect_timeout: client.connect_timeout ?? context.connectTimeoutMs / 1000,
      socket: async () => {
        // Postgres.js writes its startup message as soon as it gets the socket; writes wait for the connection.
        const started = performance.now();
        const socket = sockets.create().connect(binding.port, binding.host);
        socket.once("connect", () =>
          scope.emit({ type: "connect", driver: "postgres", durationMs: performance.now() - started }),
        );
        return socket;
      },
    };
    const sql = postgres(config as postgres.Options<Record<string, never>>) as unknown as Sql;
    return {
      client: sql,
      queryMethods: ["unsafe", "begin", "reserve", "file"],
      close: async () => {
        await sql.end();
        // sql.end() resolves before the sockets finish closing; a read still pending when the request ends
        // would surface as an unhandled rejection.
        await sockets.allClosed();
      },
    };
  },
};

/**
 * Runs `fn` with a request-scoped Postgres.js `sql` on the Hyperdrive binding (`max: 5, fetch_types: false,
 * prepare: true`), and closes it through `ctx.waitUntil` once the work has settled.
 */
export const withHyperdrive = createWithHyperdrive(postgresAdapter);
