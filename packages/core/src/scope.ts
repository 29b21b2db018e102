import { AsyncLocalStorage } from "node:async_hooks";
import type { DriverName, HyperdriveErrorCode } from "./catalog.ts";
import { HyperdriveError, NonRetryableHyperdriveError } from "./errors.ts";
import type { EventHook, HyperdriveEvent } from "./events.ts";
import { teardownOption, timeoutOption } from "./options.ts";

/** What the scope needs from the handler's `ctx`; workerd's `ExecutionContext` and Hono's both fit. */
export interface ExecutionContextLike {
  waitUntil(promise: Promise<unknown>): void;
}

/**
 * `"waitUntil"` (default): close the client through `ctx.waitUntil` once the work has settled.
 * `"none"`: never close it; the runtime drops the socket when the invocation ends (Cloudflare's current advice).
 */
export type TeardownPolicy = "waitUntil" | "none";

export interface ScopeOptions {
  teardown?: TeardownPolicy;
  /** Upper bound for closing each client, in milliseconds. Default 5000. */
  teardownTimeoutMs?: number;
  /** Called for connect, query, error and teardown events. Exceptions it throws are ignored. */
  onEvent?: EventHook;
}

/** `open` while the callback runs, `draining` while a streamed body or `waitUntil` work still runs. */
export type ScopeState = "open" | "draining" | "closing" | "closed";

export interface Frame {
  readonly scope: RequestScope;
  readonly parent: Frame | undefined;
}

/** Core-internal (not in the package's exports): `withHyperdrive` runs its callback through it directly (see there). */
export const storage = new AsyncLocalStorage<Frame>();

/** The frame that makes `scope` the active one, nested in the current one if there is one. */
export function frameOf(scope: RequestScope): Frame {
  scope.entered = true;
  return { scope, parent: storage.getStore() };
}

export const DEFAULT_TEARDOWN_TIMEOUT_MS = 5000;

/** A body with a known length up to this many bytes (1 MiB) is read into memory by `settle()` (see there). */
export const BUFFERED_BODY_LIMIT = 1024 * 1024;

interface Closer {
  readonly driver: DriverName;
  /** `undefined` (not a promise) when the client closed synchronously. */
  readonly close: () => Promise<void> | undefined;
}

/**
 * One request's database scope. Handles attached to it work only while it is active in the current async context
 * (inside `run`, or in work started from there), and it tears them down once everything it waits for settled.
 */
export class RequestScope {
  readonly teardown: TeardownPolicy;
  readonly teardownTimeoutMs: number;
  /** Resolves once teardown has finished (or was skipped). Never rejects. */
  readonly closed: Promise<void>;
  readonly #ctx: ExecutionContextLike;
  readonly #onEvent: EventHook | undefined;
  readonly #closers: Closer[] = [];
  /** Work passed to `waitUntil` and not settled yet; made on first use (most requests pass none). */
  #pending: Set<Promise<unknown>> | undefined;
  #state: ScopeState = "open";
  #resolveClosed!: () => void;
  /** Queries started through this scope's handles and not settled yet (see `queryStarted`). */
  #queries = 0;
  /** Resolves the wait of teardown for the queries in flight, once there are none. */
  #queriesSettled: (() => void) | undefined;
  #queriesCut = false;
  /**
   * Set once the scope has been made active (`run`, `withHyperdrive`): a handle used before that (an integration that
   * attaches before `run`) is plainly out of scope, one used afterwards without the scope's context is not.
   */
  entered = false;

  constructor(ctx: ExecutionContextLike, options: ScopeOptions = {}) {
    this.#ctx = ctx;
    this.teardown = teardownOption(options.teardown);
    this.teardownTimeoutMs = timeoutOption("teardownTimeoutMs", options.teardownTimeoutMs, DEFAULT_TEARDOWN_TIMEOUT_MS);
    this.#onEvent = options.onEvent;
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
  }

  get state(): ScopeState {
    return this.#state;
  }

  /** Runs `fn` with this scope active; promises, timers and streams started inside inherit it. */
  run<T>(fn: () => T): T {
    return storage.run(frameOf(this), fn);
  }

  /** Throws the typed error that says why this scope's handles cannot be used here, if they cannot. */
  assertUsable(driver?: DriverName): void {
    const code = this.#unusableBecause();
    if (code === undefined) return;
    // Named `NonRetryableError` for the Workflows engine, which fails a step at once on that name (and retries
    // anything else): retrying a step whose callback cannot reach the handle only repeats the error.
    const error =
      code === "HDK_HANDLE_OUTSIDE_ASYNC_CONTEXT"
        ? new NonRetryableHyperdriveError(code, { driver })
        : new HyperdriveError(code, { driver });
    throw this.#report(error);
  }

  /** Throws `HDK_HANDLE_AFTER_TEARDOWN` once teardown has begun: a scope that is closing takes no new handle. */
  assertOpen(driver?: DriverName): void {
    if (this.#state === "closing" || this.#state === "closed") {
      throw this.#report(new HyperdriveError("HDK_HANDLE_AFTER_TEARDOWN", { driver }));
    }
  }

  #unusableBecause(): HyperdriveErrorCode | undefined {
    let frame = storage.getStore();
    const active = frame !== undefined;
    for (; frame !== undefined; frame = frame.parent) {
      if (frame.scope === this)
        return this.#state === "closing" || this.#state === "closed" ? "HDK_HANDLE_AFTER_TEARDOWN" : undefined;
    }
    if (active) return "HDK_HANDLE_CROSS_REQUEST";
    if (this.#state === "closing" || this.#state === "closed") return "HDK_HANDLE_AFTER_TEARDOWN";
    if (isGlobalScope()) return "HDK_GLOBAL_SCOPE";
    // The callback is still running, yet this code runs outside its async context: workerd calls a function passed
    // over RPC (a Workflow's `step.do` callback) in the same invocation but without the caller's async context.
    return this.#state === "open" && this.entered ? "HDK_HANDLE_OUTSIDE_ASYNC_CONTEXT" : "HDK_HANDLE_OUT_OF_SCOPE";
  }

  /** Keeps the scope (and the invocation) alive until `promise` settles; teardown waits for it. */
  waitUntil(promise: Promise<unknown>): void {
    const tracked = promise.then(
      () => {},
      () => {},
    );
    this.#pending ??= new Set();
    const pending = this.#pending;
    pending.add(tracked);
    void tracked.then(() => pending.delete(tracked));
    this.#ctx.waitUntil(promise);
  }

  /**
   * A query started on one of this scope's handles (the guard calls it): teardown waits for it to settle, bounded by
   * `teardownTimeoutMs`, so work started in the callback and not awaited (`ctx.waitUntil(db.query(…))`) finishes
   * instead of being cut by the client's close.
   */
  queryStarted(): void {
    this.#queries++;
  }

  /** The query counted by `queryStarted` settled. */
  queryEnded(): void {
    // Teardown looks again a task later: what continues from the work that just settled (a pool's connection handed
    // out, then its first query) starts in the microtasks after it, and would otherwise find its client closing.
    if (--this.#queries === 0 && this.#queriesSettled !== undefined) setTimeout(() => this.#settleIfIdle(), 0);
  }

  #settleIfIdle(): void {
    if (this.#queries > 0) return;
    const settled = this.#queriesSettled;
    this.#queriesSettled = undefined;
    settled?.();
  }

  /**
   * True once teardown stopped waiting for queries still in flight (`teardownTimeoutMs` ran out): closing the client
   * then cuts them, and the guard reports what they fail with as that, not as the driver's words about a closed client.
   */
  get queriesCut(): boolean {
    return this.#queriesCut;
  }

  /** Resolves once no query is in flight, or after `teardownTimeoutMs`; `undefined` when none is in flight now. */
  #untilQueriesSettle(): Promise<void> | undefined {
    if (this.#queries === 0) return undefined;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#queriesCut = true;
        resolve();
      }, this.teardownTimeoutMs);
      this.#queriesSettled = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Registers how to close a client attached to this scope. */
  onTeardown(driver: DriverName, close: () => Promise<void> | undefined): void {
    this.#closers.push({ driver, close });
  }

  emit(event: HyperdriveEvent): void {
    if (!this.#onEvent) return;
    try {
      this.#onEvent(event);
    } catch {
      // A broken hook must not break the request.
    }
  }

  get observed(): boolean {
    return this.#onEvent !== undefined;
  }

  #report(error: HyperdriveError): HyperdriveError {
    this.emit({ type: "error", driver: error.driver, error });
    return error;
  }

  /**
   * Marks the callback as finished and schedules teardown through `ctx.waitUntil`. A `Response` body whose length is
   * known and at most {@link BUFFERED_BODY_LIMIT} bytes is read into memory first, so teardown starts at once and the
   * runtime sends the bytes natively; a longer or streamed body is passed through a wrapper that teardown waits for
   * (sent or cancelled), with the same length when the length is known. Rejects only when reading that short body
   * fails, after scheduling teardown.
   */
  async settle<T>(result: T): Promise<T> {
    if (this.#state !== "open") return result;
    this.#state = "draining";
    let out = result;
    let bodyDone: Promise<void> | undefined;
    let failure: { error: unknown } | undefined;
    if (result instanceof Response && result.body !== null && result.webSocket == null) {
      const length = knownLength(result.body);
      if (length !== undefined && length <= BUFFERED_BODY_LIMIT) {
        // The wrapper costs a JS round per chunk and keeps the connection open until the client has the body; at 0 ms
        // that was most of the handle's cost per request (see the bench). Bytes in memory need neither.
        try {
          // Read inside the scope (a JS stream's `pull` may query); `withHyperdrive` settles there already, and
          // entering the AsyncLocalStorage again costs a native call per request.
          const bytes =
            storage.getStore()?.scope === this ? result.arrayBuffer() : this.run(() => result.arrayBuffer());
          out = new Response(await bytes, result) as T;
        } catch (error) {
          failure = { error };
        }
      } else {
        const tracked = this.run(() => trackStream(result.body as ReadableStream<Uint8Array>, length));
        bodyDone = tracked.done;
        out = new Response(tracked.stream, result) as T;
      }
    }
    // Without a streamed body, teardown starts now: no promise chained per request for a body that is already sent.
    const finished = bodyDone === undefined ? this.#finish() : bodyDone.then(() => this.#finish());
    if (this.teardown === "waitUntil") this.#ctx.waitUntil(finished);
    if (failure) throw failure.error;
    return out;
  }

  /** Tears down now, without waiting for pending work (for integrations that end a scope on error). */
  close(): Promise<void> {
    if (this.#state === "open" || this.#state === "draining") return this.#closeAll();
    return this.closed;
  }

  /**
   * Tears down once the work passed to `waitUntil` has settled and no query is in flight on the scope's handles
   * (at once when there is none).
   */
  #finish(): Promise<void> {
    const pending = this.#pending;
    if (pending?.size) return this.#drain(pending).then(() => this.#afterQueries());
    return this.#afterQueries();
  }

  #afterQueries(): Promise<void> {
    const queries = this.#untilQueriesSettle();
    return queries === undefined ? this.#closeAll() : queries.then(() => this.#closeAll());
  }

  async #drain(pending: Set<Promise<unknown>>): Promise<void> {
    while (pending.size > 0) await Promise.all(pending);
  }

  #closeAll(): Promise<void> {
    if (this.#state === "closing" || this.#state === "closed") return this.closed;
    this.#state = "closing";
    if (this.teardown === "waitUntil") return this.#closeClients();
    // Nothing to wait for: the events, without an async call (the bench counts what a request allocates).
    for (const { driver } of this.#closers) this.emit({ type: "teardown", driver, durationMs: 0, outcome: "skipped" });
    this.#markClosed();
    return this.closed;
  }

  async #closeClients(): Promise<void> {
    await Promise.all(this.#closers.map((closer) => this.#closeOne(closer)));
    this.#markClosed();
  }

  #markClosed(): void {
    this.#state = "closed";
    this.#resolveClosed();
  }

  async #closeOne({ driver, close }: Closer): Promise<void> {
    // The clock is read only for an event hook: a read per request is visible in the bench.
    const started = this.observed ? performance.now() : 0;
    let closing: Promise<void> | undefined;
    try {
      closing = close();
    } catch (cause) {
      return this.#teardownFailed(driver, started, cause);
    }
    // Closed already (an idle MySQL connection's COM_QUIT): no timer to bound it. A timer per request is a native
    // call that the bench can see.
    if (closing === undefined) {
      if (this.observed)
        this.emit({ type: "teardown", driver, durationMs: performance.now() - started, outcome: "closed" });
      return;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), this.teardownTimeoutMs);
    });
    try {
      const outcome = await Promise.race([closing, timeout]);
      if (!this.observed) return;
      const durationMs = performance.now() - started;
      if (outcome === "timeout") {
        const error = new HyperdriveError("HDK_TEARDOWN_TIMEOUT", {
          driver,
          context: `Closing took longer than ${this.teardownTimeoutMs} ms.`,
        });
        this.emit({ type: "teardown", driver, durationMs, outcome: "timeout", error });
      } else {
        this.emit({ type: "teardown", driver, durationMs, outcome: "closed" });
      }
    } catch (cause) {
      this.#teardownFailed(driver, started, cause);
    } finally {
      clearTimeout(timer);
    }
  }

  #teardownFailed(driver: DriverName, started: number, cause: unknown): void {
    if (!this.observed) return;
    const error = new HyperdriveError("HDK_TEARDOWN_FAILED", { driver, cause });
    this.emit({ type: "teardown", driver, durationMs: performance.now() - started, outcome: "failed", error });
  }
}

/** The scope active in the current async context, if any (the innermost one when scopes nest). */
export function currentScope(): RequestScope | undefined {
  return storage.getStore()?.scope;
}

/**
 * Opens a scope for one request. Throws at once at global scope (where Workers forbid I/O) and when `ctx` is not
 * an execution context.
 */
export function openScope(ctx: ExecutionContextLike, options: ScopeOptions = {}): RequestScope {
  if (isGlobalScope()) throw new HyperdriveError("HDK_GLOBAL_SCOPE");
  if (typeof (ctx as Partial<ExecutionContextLike> | undefined)?.waitUntil !== "function") {
    throw new HyperdriveError("HDK_NO_EXECUTION_CONTEXT", {
      context: `Got ${ctx === null ? "null" : typeof ctx} instead.`,
    });
  }
  if (isRpcStub(ctx)) {
    // Taken, its `waitUntil` would be an RPC call that cannot carry a promise: a DataCloneError at teardown.
    throw new HyperdriveError("HDK_NO_EXECUTION_CONTEXT", {
      context: "Got an RPC stub instead (it answers to every method name, as a Workflow's `step` does).",
    });
  }
  return new RequestScope(ctx, options);
}

/**
 * An RPC stub (workerd's `JsRpcStub`, a Workflow's `step`) has a method of every name; an execution context has
 * none of this one.
 */
function isRpcStub(ctx: ExecutionContextLike): boolean {
  return typeof (ctx as unknown as Record<string, unknown>).hyperdriveKitNotAMethod === "function";
}

const probe = new Uint8Array(1);

/**
 * Workers refuse timers, I/O and random values at global scope. Random values are the cheapest to ask for: a timer
 * probe (set and cleared) cost more than a tenth of a millisecond per request in the bench.
 */
export function isGlobalScope(): boolean {
  try {
    crypto.getRandomValues(probe);
    return false;
  } catch {
    return true;
  }
}

/**
 * Passes a body through unchanged and reports when it has ended, errored or been cancelled. The wrapper says the
 * body's length when workerd knows it (`expectedLength`, workerd's extension), so the client still gets
 * `Content-Length`: without it every body would turn into `Transfer-Encoding: chunked`. (A native pipe into a
 * `FixedLengthStream` would keep the length too, but workerd refuses to pipe one of its transform streams into
 * another, and a body can be one.)
 */
function trackStream(
  body: ReadableStream<Uint8Array>,
  length: number | undefined,
): { stream: ReadableStream<Uint8Array>; done: Promise<void> } {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const reader = body.getReader();
  // workerd calls a stream's `pull` and `cancel` in the context of whoever reads it, and the runtime sending the
  // response reads with no context at all: only the first few pulls, chained from the callback's, ran in the scope.
  // The body's own `pull` runs from `reader.read()` below, so each read (and the cancel) re-enters the context the
  // response was settled in: a body that queries on every chunk (an async generator over a pg cursor resumed from
  // `pull`) keeps its handle to the last row.
  const inContext = AsyncLocalStorage.snapshot();
  // A client that goes away mid-read cancels the body while a pull is pending: that read then ends (done, or an
  // error), but the body's own `cancel` may still need the handle (Kysely's cursor closes once the read it waits for
  // is back), so only the cancel, once it has finished, ends the body.
  let cancelling = false;
  const source: UnderlyingSource<Uint8Array> & { expectedLength?: number } = {
    ...(length === undefined ? {} : { expectedLength: length }),
    async pull(controller) {
      try {
        const chunk = await inContext(() => reader.read());
        if (chunk.done) {
          controller.close();
          if (!cancelling) finish();
        } else {
          controller.enqueue(chunk.value);
        }
      } catch (error) {
        controller.error(error);
        if (!cancelling) finish();
      }
    },
    async cancel(reason) {
      cancelling = true;
      try {
        await inContext(() => reader.cancel(reason));
      } finally {
        finish();
      }
    },
  };
  return { stream: new ReadableStream<Uint8Array>(source), done };
}

let lengthKey: symbol | null | undefined;

/**
 * The byte length workerd knows for a body (a string, `Response.json`, bytes, a Blob, a fetched body with a length,
 * a stream made with `expectedLength`). workerd shows it to `util.inspect` only, through a symbol-keyed getter on
 * `ReadableStream.prototype`; no standard API gives it. Without that getter the body is sent chunked, as before.
 * Core's framing test (`test/framing.test.ts`, over HTTP from `wrangler dev`) fails if a workerd update removes it.
 */
function knownLength(body: ReadableStream): number | undefined {
  if (lengthKey === undefined) {
    lengthKey =
      Object.getOwnPropertySymbols(ReadableStream.prototype).find((key) => key.description === "length") ?? null;
  }
  if (lengthKey === null) return undefined;
  try {
    const length: unknown = (body as unknown as Record<symbol, unknown>)[lengthKey];
    return typeof length === "bigint" || typeof length === "number" ? Number(length) : undefined;
  } catch {
    return undefined;
  }
}
