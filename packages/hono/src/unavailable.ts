import type { HyperdriveError } from "@hyperdrive-kit/core";

/**
 * What `c.var.db` holds when the request's handle could not be made (no Hyperdrive binding in `env`): a stand-in that
 * throws `error` at its first use, so routes that never touch the database (health checks, 404s, a no-database
 * mode) answer as usual, and a route that does gets the typed error where it uses it.
 */
export function unavailable<Handle>(error: HyperdriveError): Handle {
  const refuse = (): never => {
    throw error;
  };
  // An arrow function as the target: the handle may be called (Postgres.js's `sql` is a tagged template).
  return new Proxy(() => {}, {
    // Symbol keys are what inspection and logging read (`util.inspect`, `Symbol.toStringTag`): not a use.
    get: (_target, key) => (typeof key === "symbol" ? undefined : refuse()),
    set: refuse,
    has: refuse,
    apply: refuse,
    construct: refuse,
    defineProperty: refuse,
    deleteProperty: refuse,
  }) as Handle;
}
