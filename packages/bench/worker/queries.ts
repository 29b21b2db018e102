/** The two queries of the bench: one without parameters, one with. Postgres.js runs its tagged template. */
import type { Sql } from "postgres";

export interface Query {
  pg: string;
  mysql: string;
  values: unknown[];
  postgres: (sql: Sql) => Promise<unknown>;
}

export const QUERIES: Record<"plain" | "param", Query> = {
  plain: { pg: "select 1 as one", mysql: "select 1 as one", values: [], postgres: (sql) => sql`select 1 as one` },
  param: {
    pg: "select $1::int as one",
    mysql: "select ? as one",
    values: [1],
    postgres: (sql) => sql`select ${1}::int as one`,
  },
};
