import { type Sql, withHyperdrive } from "@hyperdrive-kit/postgres";
import { describeFaults, postgresJsFaultExpectations } from "@hyperdrive-kit/testing/faults";
import { describeConformance, type Outcome, scopedRunner } from "@hyperdrive-kit/testing/suite";
import { type Kysely, sql } from "kysely";
import { describe, expect, it } from "vitest";
import { createKysely, withKysely } from "../../src/postgres.ts";
import { describePgKyselyCases } from "../pg-cases.ts";

describe("Kysely on Postgres.js", () => {
  describeConformance();
  describe("under real faults", () =>
    describeFaults(postgresJsFaultExpectations, {
      unawaitedWork: "Kysely acquires its connection after teardown began",
    }));
});

const scoped = scopedRunner(withKysely as never) as <T>(
  // biome-ignore lint/suspicious/noExplicitAny: any database
  fn: (db: Kysely<any>) => Promise<T>,
  options?: Record<string, unknown>,
) => Promise<Outcome<T>>;

const scopedSql = scopedRunner<Sql>(withHyperdrive as never);

describe("Kysely on Postgres.js: what users do", () => {
  describePgKyselyCases(scoped, (fn) => scopedSql((sql) => fn(() => createKysely(sql))));

  it("runs each query as a named prepared statement, which Hyperdrive can cache (not unsafe()'s prepare: false)", async () => {
    const { value, error } = await scoped(
      async (db) => {
        await db.selectNoFrom(sql<number>`${41}::int + 1`.as("answer")).execute();
        return (await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(db)).rows;
      },
      { client: { max: 1 } },
    );
    expect(error).toBeUndefined();
    expect(value?.map((row) => row.statement)).toContain('select $1::int + 1 as "answer"');
  });
});
