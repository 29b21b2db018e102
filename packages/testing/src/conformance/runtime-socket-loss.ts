/**
 * workerd raises an unhandled rejection that no JavaScript can observe, catch or mark handled when the peer resets
 * a TCP socket while a read is pending: "Network connection lost." (and, on a close during a read, "Stream was
 * cancelled." / "This socket has been closed."). It happens with a bare `connect()` from `cloudflare:sockets` whose
 * every promise is handled, whichever way the readable is consumed (reader, BYOB reader, pipeTo, pipeThrough), and
 * inside workerd's own `node:net` (`startRead` in `node-internal:internal_net`); `PromiseRejectionEvent` is not
 * cancelable there, so `preventDefault()` does nothing. The driver still gets the error and the query fails with
 * its typed error: these are runtime noise, counted apart so every other unhandled rejection still fails the run.
 */
export const RUNTIME_SOCKET_LOSS: ReadonlySet<string> = new Set([
  "Network connection lost.",
  "Stream was cancelled.",
  "This socket has been closed.",
]);

export function isRuntimeSocketLoss(reason: unknown): boolean {
  return reason instanceof Error && RUNTIME_SOCKET_LOSS.has(reason.message);
}
