import type { DerivedObject } from "@hyperdrive-kit/testing/conformance";
import { type Kysely, sql } from "kysely";

// biome-ignore lint/suspicious/noExplicitAny: any database
type Db = Kysely<any>;

/** What a Kysely instance gives out that reaches the database later: a query built in one request. */
export const kyselyDerived: Record<string, DerivedObject<Db>> = {
  "a query not yet run": {
    make: async (db, keep) => keep(db.selectNoFrom(sql<number>`1`.as("one"))),
    use: (query) => (query as ReturnType<Db["selectNoFrom"]>).execute(),
  },
};

/** The conformance Worker's `query`: one raw statement through Kysely. */
export const rawQuery = async (db: Db, text: string) =>
  (await sql.raw(text).execute(db)).rows as Array<Record<string, unknown>>;
