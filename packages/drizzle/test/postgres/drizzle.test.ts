import { describeFaults, postgresJsFaultExpectations } from "@hyperdrive-kit/testing/faults";
import { describeConformance, scopedRunner } from "@hyperdrive-kit/testing/suite";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { type DrizzlePostgres, withDrizzle } from "../../src/postgres.ts";
import { describePgDrizzleCases } from "../pg-cases.ts";

const scoped = scopedRunner<DrizzlePostgres>(withDrizzle as never);

describe("Drizzle on Postgres.js", () => {
  describeConformance();
  describe("under real faults", () => describeFaults(postgresJsFaultExpectations));
});

describe("Drizzle on Postgres.js: what users do", () => {
  describePgDrizzleCases(scopedRunner(withDrizzle as never));

  it("runs Drizzle's queries as named prepared statements, which Hyperdrive can cache (Drizzle asks unsafe() for prepare: false)", async () => {
    const { value, error } = await scoped(
      async (db) => {
        await db.execute(sql`select ${41}::int + 1 as answer`);
        await db.select({ n: sql<number>`${2}::int * 2`.as("n") }).from(sql`(select 1) as t`);
        await db.transaction(async (tx) => {
          await tx.execute(sql`select ${3}::int - 1 as in_tx`);
          await tx.transaction(async (nested) => nested.execute(sql`select ${4}::int - 1 as in_savepoint`));
        });
        return [...(await db.execute<{ statement: string }>(sql`select statement from pg_prepared_statements`))];
      },
      { client: { max: 1 } },
    );
    expect(error).toBeUndefined();
    const statements = value?.map((row) => row.statement);
    expect(statements).toEqual(
      expect.arrayContaining([
        "select $1::int + 1 as answer",
        'select $1::int * 2 as "n" from (select 1) as t',
        "select $1::int - 1 as in_tx",
        "select $1::int - 1 as in_savepoint",
      ]),
    );
  });
});
