import { type Adapter, type AttachOptions, attach } from "./adapter.ts";
import { onCallbackError, stopCallbackErrors } from "./callback-errors.ts";
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
    // One entry into the scope for the callback and the settling (each `run` is a native call per request), through
    // the storage itself rather than `scope.run`: one frame less in every stack the callback's queries capture
    // (mysqljs and mysql2 capture one per query; Workers keep 10 frames). Awaited, not returned: a synchronous failure
    // (a bad option) rejects inside `run`, and only an `await` handles it at once (returned, workerd reports it as an
    // unhandled rejection first).
    return await storage.run(frameOf(scope), async () => {
      // The callback's outcome, or the first exception a query callback throws (the callback never got to resolve
      // anything then): one deferred that both settle, not a race against a second promise (fewer allocations per
      // request, which the bench counts).
      const outcome = Promise.withResolvers<Awaited<ReturnType<typeof fn>>>();
      onCallbackError(scope, outcome.reject);
      let result: Awaited<ReturnType<typeof fn>>;
      try {
        // Followed, not passed to `resolve` (which would lock the deferred to it and ignore a later `reject`). A
        // returned query (Postgres.js's lazy PendingQuery) runs when it is followed, inside the scope.
        Promise.resolve(fn(attach(adapter, scope, env, (options ?? {}) as Options), scope)).then(
          outcome.resolve,
          outcome.reject,
        );
        result = await outcome.promise;
      } catch (error) {
        void scope.settle(undefined);
        throw error;
      } finally {
        stopCallbackErrors(scope, outcome.reject);
      }
      return await scope.settle(result);
    });
  };
}
