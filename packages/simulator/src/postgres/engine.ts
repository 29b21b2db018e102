/** The PostgreSQL side of the simulator: its pool, cache and per-socket sessions. */
import type { Socket } from "node:net";
import { QueryCache } from "../cache.ts";
import type { Engine, EngineConfig } from "../engine.ts";
import { Pool } from "../pool.ts";
import type { CachedResult } from "./cached.ts";
import { postgresAcquireError } from "./errors.ts";
import { GatewayConnection } from "./gateway.ts";
import { type OriginMetadata, PostgresOrigin } from "./origin.ts";
import { POSTGRES_REFUSAL_MESSAGES } from "./refusals.ts";
import { PostgresSession } from "./session.ts";

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
  const fallback = new Set(FALLBACK_VOLATILE);
  const cache = config.cache ? new QueryCache<CachedResult>(config.cache) : undefined;
  const context = {
    ...config.shared,
    pool,
    cache,
    messages: { refused: { ...POSTGRES_REFUSAL_MESSAGES, ...config.refused } },
    volatileFunction: (text: string) => config.shared.volatileFunction(text, metadata?.volatileFunctions ?? fallback),
    acquireError: postgresAcquireError,
  };
  return {
    pool,
    clearCache: () => cache?.clear(),
    accept(socket: Socket) {
      const session = new PostgresSession(socket, context);
      new GatewayConnection(socket, {
        password: config.password,
        parameters: () => metadata?.parameters ?? FALLBACK_PARAMETERS,
        onMessage: (message) => session.receive(message),
      });
      socket.once("close", () => session.close());
    },
  };
}
