/** The PostgreSQL side of the simulator: its pool, cache and per-socket sessions. */
import { randomBytes } from "node:crypto";
import type { Socket } from "node:net";
import { QueryCache } from "../cache.ts";
import type { Engine, EngineConfig } from "../engine.ts";
import { FunctionCatalogue } from "../functions.ts";
import { Pool } from "../pool.ts";
import type { CachedResult } from "./cached.ts";
import { postgresAcquireError } from "./errors.ts";
import { POSTGRES_FUNCTION_RULES } from "./functions.ts";
import { GatewayConnection } from "./gateway.ts";
import { type OriginMetadata, PostgresOrigin } from "./origin.ts";
import { POSTGRES_REFUSAL_MESSAGES } from "./refusals.ts";
import { PostgresSession } from "./session.ts";

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

export function postgresEngine(config: EngineConfig): Engine {
  let metadata: OriginMetadata | undefined;
  const pool = new Pool<PostgresOrigin>({
    ...config.pool,
    connect: () =>
      PostgresOrigin.connect(
        config.connect,
        metadata
          ? undefined
          : (loaded) => {
              metadata = loaded;
            },
      ),
  });
  const cache = config.cache ? new QueryCache<CachedResult>(config.cache) : undefined;
  const context = {
    ...config.shared,
    pool,
    cache,
    messages: { refused: { ...POSTGRES_REFUSAL_MESSAGES, ...config.refused } },
    functions: new FunctionCatalogue(POSTGRES_FUNCTION_RULES),
    acquireError: postgresAcquireError,
  };
  // Each client's BackendKeyData, so that its CancelRequest (sent on a connection of its own) finds it.
  const sessions = new Map<string, PostgresSession>();
  return {
    pool,
    clearCache: () => cache?.clear(),
    cacheStats: () => cache?.stats ?? { entries: 0, bytes: 0 },
    accept(socket: Socket) {
      const session = new PostgresSession(socket, context);
      const key = randomBytes(8);
      const id = key.toString("hex");
      sessions.set(id, session);
      new GatewayConnection(socket, {
        password: config.password,
        login: config.login,
        key,
        parameters: () => metadata?.parameters ?? FALLBACK_PARAMETERS,
        onMessage: (message) => session.receive(message),
        onCancel: (requested) => sessions.get(requested.toString("hex"))?.cancel(),
      });
      socket.once("close", () => {
        sessions.delete(id);
        session.close();
      });
    },
  };
}
