import type { HyperdriveError } from "@hyperdrive-kit/core";

/**
 * What `c.var.db` holds when the request's handle could not be made (no Hyperdrive binding in `env`): a stand-in that
 * throws `error` at its first use, so routes that never touch the database (health checks, 404s, a no-database
 * mode) answer as usual, and a route that does gets the typed error where it uses it.
 */
export function unavailable<Handle>(error: HyperdriveError): Handle {
  // An arrow function as the target: the handle may be called (Postgres.js's `sql` is a tagged template).
  return new Proxy(() => {}, new Refusal(error)) as Handle;
}

/**
 * The stand-in's traps, each throwing the error (a class: named closures are wrapped on every call by wrangler's
 * keep_names, bench's scripts/names.ts). A Proxy calls its traps with the handler as `this`.
 */
class Refusal implements ProxyHandler<() => void> {
  readonly #error: HyperdriveError;

  constructor(error: HyperdriveError) {
    this.#error = error;
  }

  // Symbol keys are what inspection and logging read (`util.inspect`, `Symbol.toStringTag`): not a use.
  get(_target: unknown, key: string | symbol): undefined {
    if (typeof key === "symbol") return undefined;
    throw this.#error;
  }

  set(): never {
    throw this.#error;
  }

  has(): never {
    throw this.#error;
  }

  apply(): never {
    throw this.#error;
  }

  construct(): never {
    throw this.#error;
  }

  defineProperty(): never {
    throw this.#error;
  }

  deleteProperty(): never {
    throw this.#error;
  }
}
