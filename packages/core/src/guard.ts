import type { DriverName } from "./catalog.ts";
import { toHyperdriveError } from "./classify.ts";
import { isHyperdriveError } from "./errors.ts";
import type { RequestScope } from "./scope.ts";

export interface GuardOptions {
  readonly driver: DriverName;
  readonly scope: RequestScope;
  /** Methods whose calls are queries: timed for the `query` event and their errors mapped to the taxonomy. */
  readonly queryMethods: ReadonlySet<PropertyKey>;
  /** Methods replaced outright (after the scope check), e.g. pg's `connect` that must be idempotent. */
  readonly overrides?: Readonly<Record<PropertyKey, (...args: never[]) => unknown>>;
  /** Secrets to keep out of mapped errors. */
  readonly secrets: readonly string[];
}

/**
 * Returns `target` behind a Proxy that checks the scope before every method call, so a handle used outside its
 * request fails at once with a typed error instead of reaching a socket that belongs to another request (which
 * hangs locally and throws in production). Calling the target itself (Postgres.js's tagged template) is a query.
 * Methods run with the real client as `this`, so drivers never see the Proxy.
 */
export function guard<T extends object>(target: T, options: GuardOptions): T {
  const { driver, scope, queryMethods, overrides = {} } = options;
  const wrappers = new Map<PropertyKey, { readonly original: unknown; readonly wrapper: unknown }>();
  const proxy: T = new Proxy(target, {
    apply(_t, _thisArg, args: unknown[]) {
      scope.assertUsable(driver);
      return runQuery(options, () => Reflect.apply(target as (...a: unknown[]) => unknown, target, args), args);
    },
    get(_t, property) {
      const override = overrides[property as keyof typeof overrides];
      if (override !== undefined) {
        return cached(property, override, () =>
          guarded(property, override as (...a: unknown[]) => unknown, queryMethods.has(property)),
        );
      }
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== "function" || property === "constructor") return value;
      return cached(property, value, () =>
        guarded(property, value as (...a: unknown[]) => unknown, queryMethods.has(property)),
      );
    },
  });

  function cached(property: PropertyKey, original: unknown, make: () => unknown): unknown {
    const hit = wrappers.get(property);
    if (hit !== undefined && hit.original === original) return hit.wrapper;
    const wrapper = make();
    wrappers.set(property, { original, wrapper });
    return wrapper;
  }

  function guarded(property: PropertyKey, fn: (...a: unknown[]) => unknown, isQuery: boolean): unknown {
    const wrapper = function (this: unknown, ...args: unknown[]) {
      scope.assertUsable(driver);
      const self = this === proxy || this === undefined ? target : this;
      const result = isQuery ? runQuery(options, () => fn.apply(self, args), args) : fn.apply(self, args);
      return result === target ? proxy : result;
    };
    Object.defineProperty(wrapper, "name", { value: typeof property === "string" ? property : fn.name });
    return wrapper;
  }

  return proxy;
}

/**
 * Runs one query call: maps driver errors to the taxonomy (database errors pass through unchanged) and reports a
 * `query` event when someone listens. Keeps the driver's own result object (Postgres.js's lazy PendingQuery keeps
 * `.values()`, `.cursor()`…) by wrapping its `then` instead of chaining a new promise.
 */
function runQuery(options: GuardOptions, call: () => unknown, args: unknown[]): unknown {
  const { scope, driver, secrets } = options;
  const started = scope.observed ? performance.now() : 0;
  const map = (error: unknown) => {
    const mapped = toHyperdriveError(error, { driver, secrets });
    if (isHyperdriveError(mapped) && mapped !== error) scope.emit({ type: "error", driver, error: mapped });
    return mapped;
  };
  let reported = false;
  const done = (error?: unknown) => {
    if (reported) return;
    reported = true;
    if (scope.observed) scope.emit({ type: "query", driver, durationMs: performance.now() - started, error });
  };
  const last = args.length - 1;
  const callback = args[last];
  if (typeof callback === "function") {
    // Callback style (pg, mysql): map the error handed to the callback.
    args[last] = function (this: unknown, error: unknown, ...rest: unknown[]) {
      done(error ?? undefined);
      return (callback as (...a: unknown[]) => unknown).call(this, error ? map(error) : error, ...rest);
    };
  }
  let result: unknown;
  try {
    result = call();
  } catch (error) {
    done(error);
    throw map(error);
  }
  if (!isThenable(result) || typeof callback === "function") return result;
  if (result instanceof Promise && result.constructor === Promise) {
    return result.then(
      (value: unknown) => {
        done();
        return value;
      },
      (error: unknown) => {
        done(error);
        throw map(error);
      },
    );
  }
  const originalThen = result.then;
  // biome-ignore lint/suspicious/noThenProperty: intentionally wraps the driver's own thenable in place.
  Object.defineProperty(result, "then", {
    configurable: true,
    writable: true,
    value(onFulfilled?: (value: unknown) => unknown, onRejected?: (error: unknown) => unknown) {
      return originalThen.call(
        result,
        (value: unknown) => {
          done();
          return onFulfilled ? onFulfilled(value) : value;
        },
        (error: unknown) => {
          done(error);
          const mapped = map(error);
          if (onRejected) return onRejected(mapped);
          throw mapped;
        },
      );
    },
  });
  return result;
}

function isThenable(value: unknown): value is { then: (...args: unknown[]) => unknown } {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function"
  );
}
