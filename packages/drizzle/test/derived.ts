import type { DerivedObject } from "@hyperdrive-kit/testing/conformance";
import { sql } from "drizzle-orm";

/** What every Drizzle database shares: `execute()` and `transaction()`. */
interface Database {
  execute(query: ReturnType<typeof sql>): PromiseLike<unknown>;
  select(fields: Record<string, unknown>): { from(source: ReturnType<typeof sql>): PromiseLike<unknown> };
  transaction<T>(fn: (tx: Database) => Promise<T>): Promise<T>;
}

/** What a Drizzle instance gives out that reaches the database later: a transaction's `tx` and a query not yet run. */
export const drizzleDerived: Record<string, DerivedObject<Database>> = {
  "transaction()'s tx": {
    make: (db, keep) =>
      db.transaction(async (tx) => {
        keep(tx);
        await tx.execute(sql`select 1`);
      }),
    use: async (tx) => await (tx as Database).execute(sql`select 1`),
  },
  // A query builder runs when awaited (MySQL's `db.execute()` runs at once, so it is not one of these).
  "a query not yet run": {
    make: async (db, keep) => keep(db.select({ one: sql`1` }).from(sql`(select 1) as t`)),
    use: async (query) => await (query as PromiseLike<unknown>),
  },
};
