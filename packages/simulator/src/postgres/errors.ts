/** What a client is told when no origin connection could be had: Hyperdrive's words where they are documented. */
import { OriginConnectError, PoolTimeoutError } from "../pool.ts";
import { ORIGIN_REFUSED, POOL_EXHAUSTED } from "../texts.ts";
import { errorResponse } from "./messages.ts";

export function postgresAcquireError(error: unknown): Buffer {
  if (error instanceof PoolTimeoutError) return errorResponse("58000", POOL_EXHAUSTED);
  const cause = error instanceof OriginConnectError ? error.cause : error;
  const { code, message = "" } = (cause ?? {}) as { code?: unknown; message?: string };
  if (code === "ECONNREFUSED") return errorResponse("58000", ORIGIN_REFUSED);
  // The database's own refusal (wrong password, no such database) passes through, as Hyperdrive passes errors on.
  if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return errorResponse(code, message);
  // Undocumented: the same form as connection_refused, with the failure's kind (a guess).
  const reason = /timeout/i.test(message)
    ? "connection_timeout"
    : typeof code === "string"
      ? code.toLowerCase()
      : "connection_failed";
  return errorResponse("58000", `Server connection attempt failed: ${reason}`);
}
