/**
 * Drizzle's Postgres.js session runs every query through `sql.unsafe(text, params, { prepare })`, with `prepare`
 * true only for queries given a name with `.prepare("name")` (drizzle-orm 0.45, `postgres-js/session.js`): all
 * others would go out as unnamed statements, which Hyperdrive does not cache. Drizzle sees this view of the handle
 * instead, whose `unsafe()` always prepares, in transactions and savepoints too. A connection opened with
 * `prepare: false` (only with `allowUnsafe: ["prepare"]`) still prepares nothing: Postgres.js's own option wins.
 */
import type { Sql } from "@hyperdrive-kit/postgres";

type Unsafe = (query: string, parameters?: unknown[], options?: Record<string, unknown>) => unknown;
type WithCallback = (...args: unknown[]) => unknown;

/** `begin(options?, fn)` and `savepoint(name?, fn)`: the callback, last, gets the transaction's `sql`. */
const TRANSACTIONS = new Set(["begin", "savepoint"]);

export function preparedSql<T extends object = Sql>(sql: T): T {
  return new Proxy(sql, {
    get(target, property) {
      const value = Reflect.get(target, property);
      if (typeof value !== "function") return value;
      if (property === "unsafe") {
        return (query: string, parameters?: unknown[], options?: Record<string, unknown>) =>
          (value as Unsafe).call(target, query, parameters, { ...options, prepare: true });
      }
      if (typeof property === "string" && TRANSACTIONS.has(property)) {
        return (...args: unknown[]) => {
          const fn = args.pop() as (tx: object) => unknown;
          return (value as WithCallback).call(target, ...args, (tx: object) => fn(preparedSql(tx)));
        };
      }
      return value;
    },
  });
}
