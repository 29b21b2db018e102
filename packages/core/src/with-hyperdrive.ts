import { type Adapter, type AttachOptions, attach } from "./adapter.ts";
import { onCallbackError } from "./callback-errors.ts";
import {
  type ExecutionContextLike,
  frameOf,
  openScope,
  type RequestScope,
  type ScopeOptions,
  storage,
} from "./scope.ts";

export type WithHyperdriveOptions<Options> = Options & AttachOptions & ScopeOptions;

/**
 * Runs `fn` with a request-scoped handle and schedules its teardown. The handle works only inside `fn`, in the
 * body stream of the `Response` that `fn` returns, and in work passed to `scope.waitUntil`.
 */
export type WithHyperdrive<Client, Options> = <Result>(
  env: unknown,
  ctx: ExecutionContextLike,
  fn: (db: Client, scope: RequestScope) => Result | Promise<Result>,
  options?: WithHyperdriveOptions<Options>,
) => Promise<Result>;

/** Builds an adapter package's `withHyperdrive`. */
export function createWithHyperdrive<Client extends object, Options extends AttachOptions>(
  adapter: Adapter<Client, Options>,
): WithHyperdrive<Client, Options> {
  return async (env, ctx, fn, options) => {
    const scope = openScope(ctx, options);
    // An exception thrown by a query callback fails the call (the callback never got to resolve anything).
    let callbackError!: (error: unknown) => void;
    const thrown = new Promise<never>((_, reject) => {
      callbackError = reject;
    });
    thrown.catch(() => {}); // only raced below
    const stopListening = onCallbackError(scope, callbackError);
    // One entry into the scope for the callback and the settling (each `run` is a native call per request), through
    // the storage itself rather than `scope.run`: one frame less in every stack the callback's queries capture
    // (mysqljs and mysql2 capture one per query; Workers keep 10 frames). Awaited, not returned: a synchronous failure
    // (a bad option) rejects inside `run`, and only an `await` handles it at once (returned, workerd reports it as an
    // unhandled rejection first).
    return await storage.run(frameOf(scope), async () => {
      let result: Awaited<ReturnType<typeof fn>>;
      try {
        // Awaited inside the scope: a returned query (Postgres.js's lazy PendingQuery) runs when it is awaited.
        result = await Promise.race([fn(attach(adapter, scope, env, (options ?? {}) as Options), scope), thrown]);
      } catch (error) {
        void scope.settle(undefined);
        throw error;
      } finally {
        stopListening();
      }
      return scope.settle(result);
    });
  };
}
