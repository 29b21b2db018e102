import { type Adapter, type AttachOptions, attach } from "./adapter.ts";
import { HyperdriveError } from "./errors.ts";
import {
  type ExecutionContextLike,
  frameOf,
  openScope,
  type RequestScope,
  type ScopeOptions,
  storage,
} from "./scope.ts";

export interface ObjectHandleOptions extends ScopeOptions {
  /** Close the connection after this many milliseconds without a `run` in progress. Default 30000. */
  idleMs?: number;
}

export const DEFAULT_OBJECT_IDLE_MS = 30_000;

/** Durable Objects (by `this.ctx`) whose handle exists: a second one for the same object is refused. */
const owners = new WeakSet<object>();

/**
 * A handle that lives as long as a Durable Object instead of one request: workerd gives an object one I/O context for
 * all its requests, so a connection opened in one of them may serve the next (Cloudflare's connection-lifecycle page:
 * it stays allocated from Hyperdrive's pool until the object hibernates or is evicted). The connection is opened on
 * the first query of the first `run`, closed once no `run` has been in progress for `idleMs`, and dropped by the
 * runtime on eviction; the next `run` opens a new one. Use it only in `run`: anywhere else it is refused as a request
 * handle is.
 */
export class ObjectHandle<Client extends object> {
  readonly #ctx: ExecutionContextLike;
  readonly #make: (scope: RequestScope) => Client;
  readonly #options: ObjectHandleOptions;
  readonly #idleMs: number;
  #scope: RequestScope | undefined;
  #client: Client | undefined;
  #running = 0;
  #idle: ReturnType<typeof setTimeout> | undefined;

  /** `ctx` is the object's own `this.ctx`; `make` puts the adapter's client on a scope (`attach`). */
  constructor(ctx: ExecutionContextLike, make: (scope: RequestScope) => Client, options: ObjectHandleOptions = {}) {
    const { idleMs = DEFAULT_OBJECT_IDLE_MS, ...scopeOptions } = options;
    if (!(typeof idleMs === "number" && idleMs > 0 && Number.isFinite(idleMs))) {
      throw new HyperdriveError("HDK_INVALID_OPTION", {
        context: `\`idleMs\` must be a positive number of milliseconds, got ${String(idleMs)}.`,
      });
    }
    if (owners.has(ctx)) {
      throw new HyperdriveError("HDK_INVALID_OPTION", {
        context: "This Durable Object already has an object handle: keep one in a field and use it for every request.",
      });
    }
    owners.add(ctx);
    this.#ctx = ctx;
    this.#make = make;
    this.#options = scopeOptions;
    this.#idleMs = idleMs;
  }

  /** Runs `fn` with the object's handle, opening it (and, on the first query, its connection) if needed. */
  async run<Result>(fn: (db: Client) => Result | Promise<Result>): Promise<Result> {
    if (this.#scope === undefined || this.#scope.state === "closing" || this.#scope.state === "closed") {
      this.#scope = openScope(this.#ctx, this.#options);
      this.#client = this.#make(this.#scope);
    }
    const scope = this.#scope;
    const client = this.#client as Client;
    clearTimeout(this.#idle);
    this.#running++;
    try {
      return await storage.run(frameOf(scope), () => fn(client));
    } finally {
      if (--this.#running === 0) {
        // Between runs the client is out of scope (kept past its callback), not a callback called back without the
        // async context of a run still in progress (a Workflow step's): the next run enters the scope again.
        scope.entered = false;
        this.#idle = setTimeout(() => this.#closeIdle(scope), this.#idleMs);
      }
    }
  }

  /** Closes the connection now (the next `run` opens a new one). Never rejects. */
  close(): Promise<void> {
    clearTimeout(this.#idle);
    const scope = this.#scope;
    this.#scope = undefined;
    this.#client = undefined;
    return scope === undefined ? Promise.resolve() : scope.close();
  }

  #closeIdle(scope: RequestScope): void {
    if (this.#scope !== scope || this.#running > 0) return;
    this.#ctx.waitUntil(this.close());
  }
}

/**
 * Builds an adapter package's `objectHyperdrive(this.ctx, this.env, options)`: the object-lifetime handle of that
 * adapter.
 */
export function createObjectHyperdrive<Client extends object, Options extends AttachOptions>(
  adapter: Adapter<Client, Options>,
): (ctx: ExecutionContextLike, env: unknown, options?: Options & ObjectHandleOptions) => ObjectHandle<Client> {
  return (ctx, env, options) => {
    const { idleMs, ...rest } = options ?? ({} as Options & ObjectHandleOptions);
    return new ObjectHandle(ctx, (scope) => attach(adapter, scope, env, rest as unknown as Options), {
      ...rest,
      idleMs,
    });
  };
}
