/** What a MySQL client is told when no origin connection could be had (ER_UNKNOWN_ERROR, HY000, as Hyperdrive). */
import { OriginConnectError, PoolTimeoutError } from "../pool.ts";
import { ORIGIN_REFUSED, POOL_EXHAUSTED } from "../texts.ts";
import { UnsupportedAuthPluginError, unsupportedPlugin } from "./origin.ts";
import { errorPacket } from "./packets.ts";

export function mysqlAcquireError(error: unknown) {
  if (error instanceof PoolTimeoutError) return errorPacket(POOL_EXHAUSTED);
  const cause = error instanceof OriginConnectError ? error.cause : error;
  if (cause instanceof UnsupportedAuthPluginError)
    return errorPacket(`Server connection attempt failed: ${cause.message}`);
  const {
    code,
    errno,
    sqlState,
    message = "",
  } = (cause ?? {}) as {
    code?: unknown;
    errno?: unknown;
    sqlState?: unknown;
    message?: string;
  };
  if (code === "ECONNREFUSED") return errorPacket(ORIGIN_REFUSED);
  // mysql2 knows no such plugin (MariaDB's ed25519, PAM, …): Hyperdrive knows none either.
  const plugin = /unknown plugin ([^\s.]+)/.exec(message)?.[1];
  if (plugin) return errorPacket(`Server connection attempt failed: ${unsupportedPlugin(plugin)}`);
  // The database's own refusal (access denied, unknown database) passes through.
  if (typeof errno === "number" && typeof sqlState === "string") return errorPacket(message, errno, sqlState);
  const reason =
    /timeout/i.test(message) || code === "ETIMEDOUT"
      ? "connection_timeout"
      : typeof code === "string"
        ? code.toLowerCase()
        : "connection_failed";
  return errorPacket(`Server connection attempt failed: ${reason}`);
}
