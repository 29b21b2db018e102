/** `startSimulator()`: a local Hyperdrive in front of one origin database. */
import { createServer, type Socket } from "node:net";
import { QueryCache } from "./cache.ts";
import type { QueryEvent } from "./context.ts";
import { DEFAULTS, type SimulatorOptions } from "./options.ts";
import { Pool } from "./pool.ts";
import type { CachedResult } from "./postgres/cached.ts";
import { postgresAcquireError } from "./postgres/errors.ts";
import { GatewayConnection } from "./postgres/gateway.ts";
import { type OriginMetadata, PostgresOrigin } from "./postgres/origin.ts";
import { POSTGRES_REFUSAL_MESSAGES } from "./postgres/refusals.ts";
import { PostgresSession } from "./postgres/session.ts";
import { isReadOnly, volatileFunction } from "./sql.ts";

export interface Simulator {
  /** What `localConnectionString` (or `CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_<BINDING>`) should be. */
  localConnectionString: string;
  /** The same, password hidden: safe to print. */
  url: string;
  host: string;
  port: number;
  /** Empties the query cache. */
  clearCache(): void;
  /** Origin connections: open in total, idle, and statements waiting for one. */
  stats(): { total: number; idle: number; waiting: number };
  close(): Promise<void>;
}

/** Functions known to be STABLE or VOLATILE, until the origin's own list (pg_proc) is read. */
const FALLBACK_VOLATILE = [
  "now",
  "random",
  "nextval",
  "currval",
  "lastval",
  "setval",
  "txid_current",
  "clock_timestamp",
];

/** Sent to clients when the origin's own startup parameters are not known yet. */
const FALLBACK_PARAMETERS = {
  server_version: "16.0",
  server_encoding: "UTF8",
  client_encoding: "UTF8",
  DateStyle: "ISO, MDY",
  integer_datetimes: "on",
  standard_conforming_strings: "on",
  TimeZone: "UTC",
};

export async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  const origin = parseOrigin(options.origin);
  const log = options.log ?? (() => {});
  const password = options.password ?? DEFAULTS.password;
  const caching = options.caching ?? true;
  const cacheOptions = typeof caching === "object" ? caching : {};
  const cache =
    caching === false
      ? undefined
      : new QueryCache<CachedResult>({
          maxAgeMs: (cacheOptions.maxAge ?? DEFAULTS.maxAge) * 1000,
          staleWhileRevalidateMs: (cacheOptions.staleWhileRevalidate ?? DEFAULTS.staleWhileRevalidate) * 1000,
          maxResultBytes: cacheOptions.maxResultBytes ?? DEFAULTS.maxResultBytes,
        });

  let metadata: OriginMetadata | undefined;
  const connectOptions = {
    connectionString: options.origin,
    connectTimeoutMs: options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
    latencyMs: options.latencyMs ?? DEFAULTS.latencyMs,
  };
  const pool = new Pool<PostgresOrigin>({
    size: options.poolSize ?? DEFAULTS.poolSize,
    acquireTimeoutMs: options.acquireTimeoutMs ?? DEFAULTS.acquireTimeoutMs,
    connect: () =>
      PostgresOrigin.connect(
        connectOptions,
        metadata
          ? undefined
          : (loaded) => {
              metadata = loaded;
            },
      ),
  });
  const volatile = new Set(FALLBACK_VOLATILE);

  const report = (event: QueryEvent) => {
    options.onQuery?.(event);
    const outcome = event.refused ? ` refused=${event.refused}` : event.failed ? " failed" : "";
    const note = event.note ? ` (${event.note})` : "";
    const text = event.text.replace(/\s+/g, " ").trim().slice(0, 120);
    log(`cache=${event.cache}${note}${outcome} ${event.durationMs.toFixed(1)}ms ${text}`);
  };

  const context = {
    pool,
    cache,
    messages: { refused: { ...POSTGRES_REFUSAL_MESSAGES, ...options.messages?.refused } },
    isReadOnly,
    volatileFunction: (text: string) => volatileFunction(text, metadata?.volatileFunctions ?? volatile),
    acquireError: postgresAcquireError,
    report,
    log,
  };

  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on("error", () => {});
    const session = new PostgresSession(socket, context);
    new GatewayConnection(socket, {
      password,
      parameters: () => metadata?.parameters ?? FALLBACK_PARAMETERS,
      onMessage: (message) => session.receive(message),
    });
    socket.once("close", () => {
      sockets.delete(socket);
      session.close();
    });
  });
  server.on("error", (error) => log(`listener error: ${error.message}`));
  const host = options.host ?? DEFAULTS.host;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  if (!address || typeof address !== "object") throw new Error("the simulator has no listening address");

  // One connection up front: the origin's startup parameters and function volatility, and a warm pool.
  try {
    pool.release(await pool.acquire());
  } catch (error) {
    log(`origin not reachable yet (${error instanceof Error ? error.message : String(error)}): queries will say so`);
  }

  const local = new URL(`${origin.protocol}//127.0.0.1`);
  local.hostname = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  local.port = String(address.port);
  local.username = origin.username;
  local.password = password;
  local.pathname = origin.pathname;
  const redacted = new URL(local);
  redacted.password = "***";
  return {
    localConnectionString: local.toString(),
    url: redacted.toString(),
    host: local.hostname,
    port: address.port,
    clearCache: () => cache?.clear(),
    stats: () => pool.stats,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      await pool.close();
    },
  };
}

function parseOrigin(origin: string): URL {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    throw new TypeError("The origin is not a URL: expected postgres://user:password@host:port/database");
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    throw new TypeError(
      `The origin's protocol "${url.protocol}" is not supported: use postgres:// (MySQL is not simulated yet)`,
    );
  }
  if (!url.username || url.pathname.length <= 1) {
    throw new TypeError("The origin needs a user and a database: postgres://user:password@host:port/database");
  }
  return url;
}
