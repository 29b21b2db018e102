/** `startSimulator()`: a local Hyperdrive in front of one origin database, PostgreSQL or MySQL. */
import { createServer, type Socket } from "node:net";
import type { QueryEvent } from "./context.ts";
import type { Engine, EngineConfig } from "./engine.ts";
import { mysqlEngine } from "./mysql/engine.ts";
import { DEFAULTS, type SimulatorOptions } from "./options.ts";
import { postgresEngine } from "./postgres/engine.ts";
import { isReadOnly } from "./sql.ts";

export interface Simulator {
  /** What `localConnectionString` (or `CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_<BINDING>`) should be. */
  localConnectionString: string;
  /** The same, password hidden: safe to print. */
  url: string;
  host: string;
  port: number;
  /** Empties the query cache. */
  clearCache(): void;
  /** Origin connections (open in total, idle, statements waiting for one) and the cache's entries and bytes. */
  stats(): { total: number; idle: number; waiting: number; cache: { entries: number; bytes: number } };
  close(): Promise<void>;
}

export async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  const origin = parseOrigin(options.origin);
  const log = options.log ?? (() => {});
  const caching = options.caching ?? true;
  const cacheOptions = typeof caching === "object" ? caching : {};
  const password = options.password ?? DEFAULTS.password;
  const report = (event: QueryEvent) => {
    options.onQuery?.(event);
    const outcome = event.refused ? ` refused=${event.refused}` : event.failed ? " failed" : "";
    const note = event.note ? ` (${event.note})` : "";
    const text = event.text.replace(/\s+/g, " ").trim().slice(0, 120);
    log(`cache=${event.cache}${note}${outcome} ${event.durationMs.toFixed(1)}ms ${text}`);
  };
  const config: EngineConfig = {
    pool: {
      size: options.poolSize ?? DEFAULTS.poolSize,
      acquireTimeoutMs: options.acquireTimeoutMs ?? DEFAULTS.acquireTimeoutMs,
      idleTimeoutMs: options.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs,
    },
    connect: {
      connectionString: options.origin,
      connectTimeoutMs: options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
      latencyMs: options.latencyMs ?? DEFAULTS.latencyMs,
      statementTimeoutMs: options.statementTimeoutMs ?? DEFAULTS.statementTimeoutMs,
    },
    cache:
      caching === false
        ? undefined
        : {
            maxAgeMs: (cacheOptions.maxAge ?? DEFAULTS.maxAge) * 1000,
            staleWhileRevalidateMs: (cacheOptions.staleWhileRevalidate ?? DEFAULTS.staleWhileRevalidate) * 1000,
            maxResultBytes: cacheOptions.maxResultBytes ?? DEFAULTS.maxResultBytes,
            maxCacheBytes: cacheOptions.maxCacheBytes ?? DEFAULTS.maxCacheBytes,
          },
    password,
    login: {
      user: decodeURIComponent(origin.username),
      database: decodeURIComponent(origin.pathname.slice(1)),
    },
    refused: options.messages?.refused ?? {},
    shared: { isReadOnly, report, log },
  };
  const engine: Engine = origin.protocol === "mysql:" ? mysqlEngine(config) : postgresEngine(config);

  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on("error", () => {});
    socket.once("close", () => sockets.delete(socket));
    engine.accept(socket);
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
    engine.pool.release(await engine.pool.acquire());
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
    clearCache: () => engine.clearCache(),
    stats: () => ({ ...engine.pool.stats, cache: engine.cacheStats() }),
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      await engine.pool.close();
    },
  };
}

const USAGE = "postgres://user:password@host:port/database or mysql://user:password@host:port/database";

function parseOrigin(origin: string): URL {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    throw new TypeError(`The origin is not a URL: expected ${USAGE}`);
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:" && url.protocol !== "mysql:") {
    throw new TypeError(`The origin's protocol "${url.protocol}" is not supported: expected ${USAGE}`);
  }
  if (!url.username || url.pathname.length <= 1) {
    throw new TypeError(`The origin needs a user and a database: ${USAGE}`);
  }
  return url;
}
