import { callbackThrew } from "./callback-errors.ts";
import type { DriverName } from "./catalog.ts";
import { classify, toHyperdriveError } from "./classify.ts";
import { HyperdriveError, isHyperdriveError } from "./errors.ts";
import type { RequestScope } from "./scope.ts";

/** How to guard one kind of object a handle gives out. */
export interface GuardSpec {
  /** Methods whose calls are queries: timed for the `query` event, error-mapped, bounded by the query timeout. */
  readonly queryMethods: readonly PropertyKey[];
  /** Methods replaced outright (after the scope check), e.g. pg's `connect` that must be idempotent. */
  readonly overrides?: Readonly<Record<PropertyKey, (...args: never[]) => unknown>>;
  /**
   * Methods whose promise resolves to an object to bind (pg's `pool.connect()`, mysql2's `getConnection()`,
   * Postgres.js's `reserve()`). Only these are followed: a promise the caller ignores stays the driver's own, so a
   * rejection the driver marked handled is never re-raised as unhandled.
   */
  readonly resolvesBound?: readonly PropertyKey[];
  /**
   * Methods that are not one query (not timed, not bounded by the query timeout) but whose promise can reject with a
   * driver error all the same, mapped as a query's is: Postgres.js's `begin()` and `savepoint()`, whose BEGIN, COMMIT
   * and SAVEPOINT can meet Hyperdrive's errors.
   */
  readonly rejectionsMapped?: readonly PropertyKey[];
  /**
   * Methods that turn a query not yet run into a cursor read at the reader's pace (Postgres.js's `cursor()`): the
   * query's own bound and `query` event end when the cursor is made, since its life is the reader's, not one wait for
   * the server. The adapter bounds each wait of the cursor with `AdapterContext.serverWait`.
   */
  readonly cursorMethods?: readonly PropertyKey[];
  /** Calling the object itself (Postgres.js's tagged template) is a query. Default: true. */
  readonly callIsQuery?: boolean;
  /**
   * Node-style callbacks (pg, mysql, mysql2's core API): a call with a callback as its last argument gets a
   * lifecycle error (used out of scope, after teardown) through that callback, as callback code expects, not thrown.
   */
  readonly nodeCallbacks?: boolean;
  /**
   * Which calls (without a callback) return a promise: a lifecycle error then comes as a rejection, never a
   * synchronous throw, so `db.query(…).catch(fn)` catches it. `property` is {@link SELF_CALL} for calling the object
   * itself. Calls that return neither a promise nor take a callback throw. Default: none.
   */
  readonly returnsPromise?: (property: PropertyKey, args: readonly unknown[]) => boolean;
  /**
   * The promise-returning calls give out a lazy query object (Postgres.js's PendingQuery: `.values()`, `.cursor()`…):
   * a refused call's rejection answers those methods too, each with the same rejection.
   */
  readonly lazyQueries?: boolean;
}

/**
 * Tells which values a guarded object gives out (returns, resolves to, passes to callbacks, exposes as properties)
 * must be bound to the same scope: objects that can reach a socket (pool clients, transactions, cursors). Anything
 * else (rows, results, errors) gets `undefined` and is handed out untouched.
 */
export type Binder = (value: object) => GuardSpec | undefined;

export interface GuardOptions {
  readonly driver: DriverName;
  readonly scope: RequestScope;
  /** Secrets to keep out of mapped errors. */
  readonly secrets: readonly string[];
  /** Objects given out that must be bound too. Default: none. */
  readonly bind?: Binder;
  /** Bound on one query call, in milliseconds; `undefined`: none. */
  readonly queryTimeoutMs?: number;
  /** Discards the connection(s) after a query timeout, failing what runs on them with `error`. */
  readonly abort?: (error: HyperdriveError) => void;
}

/** Proxy → the driver's own object, for every guard: drivers get their own objects back, never a Proxy. */
const targets = new WeakMap<object, object>();

/** The driver's own object behind a guarded one (or the value itself). */
export function unwrap<T>(value: T): T {
  if ((typeof value !== "object" && typeof value !== "function") || value === null) return value;
  return (targets.get(value as object) as T | undefined) ?? value;
}

/**
 * Returns `target` behind a Proxy that checks the scope before every method call, and binds every object it gives
 * out that can reach a socket (per `bind`) to the same scope, so a handle, a pool client or a transaction kept past
 * its request fails at once with a typed error instead of reaching a socket that belongs to another request (which
 * hangs locally and throws in production). Methods run with the driver's own object as `this` and get the driver's
 * own objects as arguments, so drivers never see a Proxy; `instanceof` still holds for users.
 */
export function guard<T extends object>(target: T, spec: GuardSpec, options: GuardOptions): T {
  return new Guard(options).object(target, spec) as T;
}

/*
 * Why classes and method shorthand below instead of closures: wrangler bundles with esbuild's `keep_names`, which
 * wraps every named closure (`const f = () => …`, `{ f: () => … }`) in a `__name()` call, i.e. an
 * `Object.defineProperty` per closure and request. Methods are named by the language at no cost.
 */

class Guard {
  readonly options: GuardOptions;
  /** The driver's object → its Proxy, so the same object always comes out as the same Proxy. */
  readonly #proxies = new WeakMap<object, object>();
  /** A user's callback → its binding wrapper, stable so `removeListener(fn)` finds what `on(fn)` added. */
  readonly #callbacks = new WeakMap<(...args: never[]) => unknown, (...args: unknown[]) => unknown>();
  /** A query call's own result (a lazy query object) → its run, for `cursorMethods`. */
  readonly runs = new WeakMap<object, QueryRun>();

  constructor(options: GuardOptions) {
    this.options = options;
  }

  object(target: object, spec: GuardSpec): object {
    const known = this.#proxies.get(target);
    if (known !== undefined) return known;
    const proxy = new Proxy(target, new GuardHandler(this, target, spec));
    this.#proxies.set(target, proxy);
    targets.set(proxy, target);
    return proxy;
  }

  /**
   * A method's wrapper: the scope check, then the driver's method on its own object. The driver is called from the
   * wrapper itself, not through a helper: mysqljs and mysql2 capture a stack trace per query (for the call site in
   * their errors), V8 pays per frame, and users read those frames.
   */
  method(
    property: PropertyKey,
    fn: (...a: unknown[]) => unknown,
    isQuery: boolean,
    resolves: boolean,
    spec: GuardSpec,
  ): (...args: unknown[]) => unknown {
    const { driver, scope } = this.options;
    const guard = this;
    const callbacks = spec.nodeCallbacks === true && !LISTENER_METHODS.has(property);
    const mapsRejection = !isQuery && spec.rejectionsMapped?.includes(property) === true;
    const makesCursor = !isQuery && spec.cursorMethods?.includes(property) === true;
    // A computed method name: the wrapper is called like the driver's method, without a defineProperty.
    const name = typeof property === "string" ? property : fn.name;
    return {
      [name](this: unknown, ...args: unknown[]) {
        const callback = callbacks ? args[args.length - 1] : undefined;
        try {
          scope.assertUsable(driver);
        } catch (error) {
          // A promise API rejects, a callback API calls back; only a call that does neither throws.
          if (typeof callback === "function") {
            queueMicrotask(() => (callback as (error: unknown) => void)(error));
            return undefined;
          }
          if (spec.returnsPromise?.(property, args) === true) return rejected(error, spec.lazyQueries === true);
          throw error;
        }
        const self = unwrap(this);
        const driverArgs = guard.driverArgs(args);
        if (!isQuery) {
          if (makesCursor) guard.runs.get(self as object)?.done();
          // A call that calls back (a pool's `getConnection(cb)`, Kysely's way to a connection) is work in flight
          // until it does, as a promise call is until it settles: teardown waits for it.
          const work = typeof callback === "function" ? new CalledBack(scope, driverArgs) : undefined;
          let result: unknown;
          try {
            result = Reflect.apply(fn, self, driverArgs);
          } catch (error) {
            work?.end();
            throw error;
          }
          // Work on the handle that is not one query (a transaction, an ORM's request, a pool's connect): teardown
          // waits for it as for a query.
          if (typeof callback !== "function" && spec.returnsPromise?.(property, args) === true) inFlight(scope, result);
          return guard.out(mapsRejection && result instanceof Promise ? guard.mapRejection(result) : result, resolves);
        }
        const run = new QueryRun(guard.options, driverArgs, callbacks);
        let result: unknown;
        try {
          result = Reflect.apply(fn, self, driverArgs);
        } catch (error) {
          throw run.failed(error);
        }
        const followed = run.follow(result);
        if (followed === result && typeof result === "object" && result !== null) guard.runs.set(result, run);
        return guard.out(followed, resolves);
      },
    }[name] as (...args: unknown[]) => unknown;
  }

  /** The arguments as the driver gets them: its own objects for guarded ones, callbacks that bind what they get. */
  driverArgs(args: unknown[]): unknown[] {
    return args.map((arg) =>
      typeof arg === "function" ? this.#callback(arg as (...a: never[]) => unknown) : unwrap(arg),
    );
  }

  #callback(fn: (...args: never[]) => unknown): unknown {
    if (targets.has(fn)) return unwrap(fn);
    let wrapper = this.#callbacks.get(fn);
    if (wrapper === undefined) {
      const guard = this;
      wrapper = {
        callback(this: unknown, ...args: unknown[]) {
          return (fn as (...a: unknown[]) => unknown).apply(
            this,
            args.map((arg) => guard.bound(arg)),
          );
        },
      }.callback;
      this.#callbacks.set(fn, wrapper);
    }
    return wrapper;
  }

  /** `result` with its rejection mapped as a query's (see `rejectionsMapped`). */
  mapRejection(result: Promise<unknown>): Promise<unknown> {
    return result.then(undefined, (error: unknown) => {
      throw mapped(this.options, error);
    });
  }

  /** What a guarded call gives out: bound if it is an object `bind` names; followed into the promise of `resolves`. */
  out(value: unknown, resolves: boolean): unknown {
    const bound = this.bound(value);
    if (bound !== value || !resolves || !isThenable(value)) return bound;
    return Promise.resolve(value).then((resolved) => this.bound(resolved));
  }

  bound(value: unknown): unknown {
    if ((typeof value !== "object" && typeof value !== "function") || value === null) return value;
    const known = this.#proxies.get(value);
    if (known !== undefined) return known;
    if (targets.has(value)) return value; // already a Proxy (of another guard)
    const spec = this.options.bind?.(value);
    return spec === undefined ? value : this.object(value, spec);
  }
}

/** The Proxy's traps for one guarded object. */
class GuardHandler implements ProxyHandler<object> {
  readonly #guard: Guard;
  readonly #target: object;
  readonly #spec: GuardSpec;
  readonly #overrides: Readonly<Record<PropertyKey, (...args: never[]) => unknown>>;
  /** Wrappers made so far, per property, with the function each wraps (a driver may replace a method). */
  readonly #methods = new Map<PropertyKey, { readonly original: unknown; readonly wrapper: unknown }>();
  #call: ((...args: unknown[]) => unknown) | undefined;

  constructor(guard: Guard, target: object, spec: GuardSpec) {
    this.#guard = guard;
    this.#target = target;
    this.#spec = spec;
    this.#overrides = spec.overrides ?? {};
  }

  apply(_target: object, thisArg: unknown, args: unknown[]): unknown {
    // Calling the object itself is guarded like a method named after it.
    this.#call ??= this.#guard.method(
      SELF_CALL,
      this.#target as (...a: unknown[]) => unknown,
      this.#spec.callIsQuery ?? true,
      false,
      this.#spec,
    );
    return Reflect.apply(this.#call, thisArg, args);
  }

  get(_target: object, property: PropertyKey): unknown {
    const overrides = this.#overrides;
    // Own properties only: `{}` inherits `constructor`, `toString`… which are not overrides.
    const override = Object.hasOwn(overrides, property) ? overrides[property as keyof typeof overrides] : undefined;
    const value: unknown = override ?? Reflect.get(this.#target, property, this.#target);
    if (typeof value === "function" && property !== "constructor") {
      const hit = this.#methods.get(property);
      if (hit !== undefined && hit.original === value) return hit.wrapper;
      const spec = this.#spec;
      const isQuery = spec.queryMethods.includes(property);
      const resolves = spec.resolvesBound?.includes(property) ?? false;
      const wrapper = this.#guard.method(property, value as (...a: unknown[]) => unknown, isQuery, resolves, spec);
      this.#methods.set(property, { original: value, wrapper });
      return wrapper;
    }
    // A property holding a connection (mysql2's `db.connection`) is bound like a method's result.
    return typeof value === "object" && value !== null ? this.#guard.bound(value) : value;
  }
}

/** A call with a node callback that is not one query, counted in its scope's work in flight until it calls back. */
class CalledBack {
  readonly #scope: RequestScope;
  #ended = false;

  /** Counts the call and puts a callback that ends the count (after the caller's, which may start more work) last. */
  constructor(scope: RequestScope, args: unknown[]) {
    this.#scope = scope;
    scope.queryStarted();
    const last = args.length - 1;
    const callback = args[last] as (...a: unknown[]) => unknown;
    const work = this;
    args[last] = function (this: unknown, ...rest: unknown[]) {
      try {
        return callback.apply(this, rest);
      } finally {
        work.end();
      }
    };
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#scope.queryEnded();
  }
}

/**
 * How long after a query timeout's `abort` the driver has to fail the query itself before the guard does: a driver
 * rejects its queries when its socket dies, a task or a few later; one that does not (Postgres.js 3.4.10 writing to a
 * socket it already dropped) must not leave the query pending forever.
 */
const TIMEOUT_GRACE_MS = 50;

/** One query call's bookkeeping: its timer, its `query` event, the mapping of its error. */
class QueryRun {
  readonly options: GuardOptions;
  readonly #started: number;
  /** The user's node callback (callback style), called once. */
  readonly #callback: ((...a: unknown[]) => unknown) | undefined;
  #timedOut: HyperdriveError | undefined;
  /** The query timeout's timer, then its grace's; `undefined` when no bound is armed. */
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Set when the grace ran out and the caller got `HDK_TIMEOUT` from the guard: the driver's settle comes too late. */
  #expired = false;
  /** Rejects with `HDK_TIMEOUT` when the grace runs out, raced against the driver's promise. */
  #expiry: Promise<never> | undefined;
  #expire: ((error: unknown) => void) | undefined;
  #reported = false;
  /** Counted in the scope's queries in flight, which teardown waits for. */
  #inFlight = false;
  /** Reports no `query` event: a wait inside a query (a cursor's next batch), not a query call. */
  readonly #silent: boolean;

  /**
   * Callback style (pg, mysql; `nodeCallbacks` in the spec): the callback that ends `args` is replaced by one that maps
   * the error it gets. Elsewhere a function last is an argument like any other (Postgres.js's `begin(fn)`), and the
   * returned promise is what gets mapped.
   */
  constructor(options: GuardOptions, args: unknown[], nodeCallbacks: boolean, silent = false) {
    this.options = options;
    this.#silent = silent;
    this.#started = options.scope.observed ? performance.now() : 0;
    const last = args.length - 1;
    const callback = args[last];
    if (!nodeCallbacks || typeof callback !== "function") return;
    this.#callback = callback as (...a: unknown[]) => unknown;
    const run = this;
    args[last] = function (this: unknown, error: unknown, ...rest: unknown[]) {
      // Once the guard called back with `HDK_TIMEOUT`, the driver's late call is not a second answer.
      if (run.#expired) return undefined;
      run.done(error ?? undefined);
      return run.callBack(this, error ? run.map(error) : error, rest);
    };
  }

  callBack(self: unknown, error: unknown, rest: unknown[]): unknown {
    try {
      return (this.#callback as (...a: unknown[]) => unknown).call(self, error, ...rest);
    } catch (thrown) {
      // Not back into the driver, which would take it for a broken connection and lose it (callback-errors.ts).
      callbackThrew(this.options.scope, thrown);
      return undefined;
    }
  }

  /**
   * What the query call returned, followed: maps driver errors to the taxonomy (database errors pass through
   * unchanged), bounds it by the query timeout and reports a `query` event when someone listens. Keeps the driver's
   * own result object (Postgres.js's lazy PendingQuery keeps `.values()`, `.cursor()`…) by wrapping its `then`
   * instead of chaining a new promise.
   */
  follow(result: unknown): unknown {
    if (this.#callback !== undefined) {
      this.start();
      this.arm();
      return result;
    }
    // mysql2's Query has a `then` that throws: an emitter is a row stream all the same, whose waits the adapter
    // bounds (`watchRowStream`), not one wait for the server.
    if (!isThenable(result) || isEmitter(result)) {
      // Not a query after all (an event emitter, a cursor): nothing to time.
      this.done();
      return result;
    }
    this.arm();
    const run = this;
    if (result instanceof Promise && result.constructor === Promise) {
      this.start();
      return this.raced(
        result.then(
          (value: unknown) => {
            run.done();
            return value;
          },
          (error: unknown) => {
            throw run.failed(error);
          },
        ) as Promise<unknown>,
      );
    }
    const originalThen = result.then;
    // biome-ignore lint/suspicious/noThenProperty: intentionally wraps the driver's own thenable in place.
    Object.defineProperty(result, "then", {
      configurable: true,
      writable: true,
      value(onFulfilled?: (value: unknown) => unknown, onRejected?: (error: unknown) => unknown) {
        // A lazy query (Postgres.js) runs once awaited: only then is it in flight (a fragment never awaited is not).
        run.start();
        const settled = originalThen.call(
          result,
          (value: unknown) => {
            run.done();
            return value;
          },
          (error: unknown) => {
            throw run.failed(error);
          },
        ) as Promise<unknown>;
        return run.raced(settled).then(onFulfilled, onRejected);
      },
    });
    return result;
  }

  map(error: unknown): unknown {
    return mapped(this.options, error, this.#timedOut);
  }

  /** The driver's failure as the caller gets it: mapped, or, once the guard reported the timeout, that same error. */
  failed(error: unknown): unknown {
    if (this.#expired) return this.#timedOut;
    this.done(error);
    return this.map(error);
  }

  /**
   * `settled` (the driver's promise, followed) raced against the timeout's expiry, while a bound is armed: the caller
   * gets `HDK_TIMEOUT` even when the driver never settles.
   */
  raced(settled: Promise<unknown>): Promise<unknown> {
    if (this.#timer === undefined && !this.#expired) return settled;
    if (this.#expiry === undefined) {
      if (this.#expired) {
        this.#expiry = Promise.reject(this.#timedOut);
      } else {
        this.#expiry = new Promise<never>((_resolve, reject) => {
          this.#expire = reject;
        });
      }
    }
    return Promise.race([settled, this.#expiry]);
  }

  /** Counts the query in flight in its scope: teardown waits for it (work handed to `ctx.waitUntil`, not awaited). */
  start(): void {
    if (this.#inFlight || this.#reported) return;
    this.#inFlight = true;
    this.options.scope.queryStarted();
  }

  done(error?: unknown): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#inFlight) {
      this.#inFlight = false;
      this.options.scope.queryEnded();
    }
    if (this.#reported) return;
    this.#reported = true;
    const { scope, driver } = this.options;
    if (scope.observed && !this.#silent)
      scope.emit({ type: "query", driver, durationMs: performance.now() - this.#started, error });
  }

  arm(): void {
    const { queryTimeoutMs, abort, driver } = this.options;
    if (queryTimeoutMs === undefined || abort === undefined || this.#reported) return;
    this.#timer = setTimeout(() => {
      this.#timedOut = new HyperdriveError("HDK_TIMEOUT", {
        driver,
        context: `The query did not finish within ${queryTimeoutMs} ms (queryTimeoutMs); its connection was discarded.`,
      });
      abort(this.#timedOut);
      // The driver fails the query when its socket dies; if it has not within the grace, the guard does.
      if (!this.#reported) this.#timer = setTimeout(() => this.expire(), TIMEOUT_GRACE_MS);
    }, queryTimeoutMs);
  }

  /** The grace after the timeout ran out with the query still pending: the caller gets `HDK_TIMEOUT` now, once. */
  expire(): void {
    const error = this.#timedOut as HyperdriveError;
    this.#timer = undefined;
    this.done(error);
    this.#expired = true;
    this.options.scope.emit({ type: "error", driver: this.options.driver, error });
    this.#expire?.(error);
    if (this.#callback !== undefined) this.callBack(undefined, error, []);
  }
}

/**
 * One wait for the server inside a query (a cursor's next batch): bounded by the query timeout like a query (on
 * timeout the connections are discarded and the wait fails with `HDK_TIMEOUT`), its rejection mapped like a query's.
 * No scope check (a body's pull may run outside the request's context) and no `query` event.
 */
export function serverWait<T>(options: GuardOptions, wait: Promise<T>): Promise<T> {
  return new QueryRun(options, [], false, true).follow(wait) as Promise<T>;
}

/** A driver error met outside a query call (a row stream's `error` event), mapped like a query's. */
export function serverError(options: GuardOptions, error: unknown): unknown {
  return mapped(options, error);
}

/**
 * A driver error as a guarded call reports it (`instead`, a timeout, replaces it), with its `error` event. The scope
 * check passed when the call was made: the handle was used in its own request, not reused.
 */
function mapped(options: GuardOptions, error: unknown, instead?: HyperdriveError): unknown {
  const { scope, driver, secrets } = options;
  const result =
    instead ??
    (scope.queriesCut ? cutByTeardown(options, error) : undefined) ??
    toHyperdriveError(error, { driver, secrets, inRequest: true });
  if (isHyperdriveError(result) && result !== error) scope.emit({ type: "error", driver, error: result });
  return result;
}

/**
 * Counts `result` (a promise a call returned) in the scope's work in flight until it settles. A lazy thenable (Prisma's
 * PrismaPromise, Postgres.js's PendingQuery) runs only once subscribed: it is counted from its first `then`, `catch`
 * or `finally`. The settlement is observed with a handler that swallows nothing the caller sees: the caller's own
 * subscription is the driver's.
 */
function inFlight(scope: RequestScope, result: unknown): void {
  if (!isThenable(result)) return;
  const originalThen = result.then;
  let ended = false;
  // Methods, not named closures, which wrangler's keep_names wraps on every call (bench's scripts/names.ts).
  const work = {
    end() {
      if (ended) return;
      ended = true;
      scope.queryEnded();
    },
    start() {
      scope.queryStarted();
      originalThen.call(result, work.end, work.end);
    },
  };
  if (result instanceof Promise && result.constructor === Promise) {
    work.start();
    return;
  }
  const target = result as unknown as Record<string, unknown>;
  const subscribers = ["then", "catch", "finally"].filter((name) => typeof target[name] === "function");
  const originals = new Map(subscribers.map((name) => [name, target[name] as (...a: unknown[]) => unknown]));
  for (const name of subscribers) {
    Object.defineProperty(result, name, {
      configurable: true,
      writable: true,
      value(this: unknown, ...args: unknown[]) {
        // Back to the driver's own methods first: `start()` subscribes through the original `then`.
        for (const [key, original] of originals)
          Object.defineProperty(result, key, { configurable: true, writable: true, value: original });
        work.start();
        return (originals.get(name) as (...a: unknown[]) => unknown).apply(this, args);
      },
    });
  }
}

/**
 * A query that was still running when teardown stopped waiting for it (`teardownTimeoutMs`) and closed its client:
 * that, not the driver's words about a closed client (whose fix blames reuse). The database's own errors pass.
 */
function cutByTeardown({ scope, driver, secrets }: GuardOptions, error: unknown): HyperdriveError | undefined {
  if (isHyperdriveError(error) || classify(error).type === "database") return undefined;
  return new HyperdriveError("HDK_TEARDOWN_TIMEOUT", {
    driver,
    secrets,
    cause: error,
    context: `A query was still running when the request's work had ended and ${scope.teardownTimeoutMs} ms (teardownTimeoutMs) had passed; teardown closed its connection.`,
    fix: "Await the query inside the callback, or pass it to the scope's `waitUntil` (`withHyperdrive(env, ctx, async (db, scope) => scope.waitUntil(work(db)))`), whose work teardown waits for in full; or raise `teardownTimeoutMs`.",
  });
}

/** The property `returnsPromise` is asked about when the guarded object itself is called (Postgres.js's `sql```). */
export const SELF_CALL: unique symbol = Symbol("call");

/**
 * A refused call's result: a rejected promise. It is marked handled: it is rejected before the caller can subscribe,
 * and `return db.query(…)` from an async function subscribes a microtask later, which workerd already reported as an
 * unhandled rejection (the refusal is also an `error` event). For lazy query objects, every method that is not the
 * promise's own (`.values()`, `.cursor()`, `[Symbol.asyncIterator]`) returns the same rejection, so the chain user
 * code writes still ends in a rejection, not in a TypeError.
 */
function rejected(error: unknown, lazy: boolean): Promise<never> {
  const promise = Promise.reject(error);
  promise.catch(ignore);
  if (!lazy) return promise;
  const query: Promise<never> = new Proxy(promise, {
    get(target, property) {
      const own = Reflect.get(target, property, target);
      if (typeof own === "function") return own.bind(target);
      if (own !== undefined) return own;
      return () => query;
    },
  });
  return query;
}

/** EventEmitter methods: their function argument is a listener, not a callback to hand errors to. */
const LISTENER_METHODS = new Set<PropertyKey>([
  "on",
  "once",
  "off",
  "addListener",
  "prependListener",
  "prependOnceListener",
  "removeListener",
]);

function ignore(): void {}

function isEmitter(value: object): boolean {
  const emitter = value as { on?: unknown; emit?: unknown };
  return typeof emitter.on === "function" && typeof emitter.emit === "function";
}

function isThenable(value: unknown): value is { then: (...args: unknown[]) => unknown } {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function"
  );
}
