import { attach } from "@hyperdrive-kit/core/adapter";
import {
  type ConformanceDriver,
  createConformanceWorker,
  type DerivedObject,
  handlerKindClasses,
  postgresDialect,
} from "@hyperdrive-kit/testing/conformance";
import type postgres from "postgres";
import { postgresAdapter, type Sql, withHyperdrive } from "../src/index.ts";

type TransactionSql = postgres.TransactionSql<Record<string, never>>;
type ReservedSql = postgres.ReservedSql<Record<string, never>>;

/** What Postgres.js gives out that runs queries later: a transaction's and a savepoint's `sql`, reserve(), queries. */
const derived: Record<string, DerivedObject<Sql>> = {
  "reserve()": {
    make: async (sql, keep) => {
      // Postgres.js 3.4.9: reserve() before the instance's first query never resolves (raw Postgres.js too).
      await sql`select 1`;
      const reserved = await sql.reserve();
      keep(reserved);
      await reserved`select 1`;
      reserved.release();
    },
    use: (reserved) => (reserved as ReservedSql)`select 1`,
  },
  "begin()'s sql": {
    make: async (sql, keep) => {
      await sql.begin(async (tx) => {
        keep(tx);
        await tx`select 1`;
      });
    },
    use: (tx) => (tx as TransactionSql)`select 1`,
  },
  "savepoint()'s sql": {
    make: async (sql, keep) => {
      await sql.begin((tx) =>
        tx.savepoint(async (savepoint) => {
          keep(savepoint);
          await savepoint`select 1`;
        }),
      );
    },
    use: (savepoint) => (savepoint as TransactionSql)`select 1`,
  },
  "a query not yet run": {
    make: async (sql, keep) => keep(sql`select 1`),
    use: async (query) => await (query as postgres.PendingQuery<postgres.Row[]>),
  },
  "cursor()": {
    make: async (sql, keep) => keep(sql`select generate_series(1, 3) as n`.cursor(1)),
    use: async (cursor) => {
      for await (const rows of cursor as AsyncIterable<postgres.Row[]>) return rows;
    },
  },
  "forEach()": {
    make: async (sql, keep) => keep(sql`select generate_series(1, 3) as n`),
    use: (query) => (query as postgres.PendingQuery<postgres.Row[]>).forEach(() => {}),
  },
};

const driver: ConformanceDriver<Sql> = {
  ...postgresDialect,
  withHyperdrive,
  attach: (scope, env, options) => attach(postgresAdapter, scope, env, options),
  query: async (sql, text) => [...(await sql.unsafe(text))],
  rawQuery: (sql, text) => sql.unsafe(text),
  derived: () => derived,
  async streamRows(sql, text, each) {
    for await (const rows of sql.unsafe(text).cursor(5)) for (const row of rows) await each(row);
  },
  // Postgres.js runs each query on any of its connections: a transaction takes one.
  transaction: (sql, body) => sql.begin((tx) => body(async (text) => [...(await tx.unsafe(text))])),
};

export default createConformanceWorker(driver);
export const { HandlerObject, HandlerEntrypoint, HandlerWorkflow } = handlerKindClasses(driver);
