/**
 * Exceptions thrown by a user's callback (a node-style query callback: `if (err) throw err`). Thrown back into the
 * driver, they land in its socket handler: mysqljs then fails the connection as if the network broke, and the
 * exception itself is lost behind the runtime's "code had hung" cancel. The guard catches them and hands them here:
 * `withHyperdrive` rejects with the first one while its callback runs; otherwise (middleware, a body stream, later
 * work) it is re-thrown outside the driver, where the runtime reports it as uncaught, as it would without the handle.
 */
import type { RequestScope } from "./scope.ts";

const listeners = new WeakMap<RequestScope, (error: unknown) => void>();

/** Routes exceptions thrown by callbacks of `scope`'s handles to `listener`, until {@link stopCallbackErrors}. */
export function onCallbackError(scope: RequestScope, listener: (error: unknown) => void): void {
  listeners.set(scope, listener);
}

/** Stops routing `scope`'s callback exceptions to `listener` (a later listener stays). */
export function stopCallbackErrors(scope: RequestScope, listener: (error: unknown) => void): void {
  if (listeners.get(scope) === listener) listeners.delete(scope);
}

/** Reports an exception a user's callback threw: to the scope's listener, else as an uncaught exception. */
export function callbackThrew(scope: RequestScope, error: unknown): void {
  const listener = listeners.get(scope);
  if (listener !== undefined) listener(error);
  else
    queueMicrotask(() => {
      throw error;
    });
}
