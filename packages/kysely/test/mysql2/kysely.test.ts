import { classify, isHyperdriveError } from "@hyperdrive-kit/core";
import { withHyperdrive } from "@hyperdrive-kit/mysql2";
import { describeFaults } from "@hyperdrive-kit/testing/faults";
import { mysqlFaultExpectations, stmtPrepares } from "@hyperdrive-kit/testing/mysql";
import { describeConformance, lifecycle, type Outcome, scopedRunner } from "@hyperdrive-kit/testing/suite";
import { type Generated, type Kysely, sql } from "kysely";
import type { Pool } from "mysql2/promise";
import { beforeAll, describe, expect, it } from "vitest";
import { createKysely, withKysely } from "../../src/mysql2.ts";

interface Database {
  kysely_people: { id: Generated<number>; name: string };
}

const scoped = scopedRunner(withKysely as never);
const adminScoped = scopedRunner(withHyperdrive as never);

const value = async <T>(outcome: Promise<Outcome<T>>): Promise<T> => {
  const { value, error } = await outcome;
  if (error) throw error;
  return value as T;
};
const run = <T>(fn: (db: Kysely<Database>) => Promise<T>) => value(scoped(fn as never) as Promise<Outcome<T>>);

const prepares = () => stmtPrepares(adminScoped);

describe("Kysely on a mysql2 Pool", () => {
  describeConformance();
  describe("under real faults", () =>
    describeFaults(mysqlFaultExpectations, { unawaitedWork: "Kysely acquires its connection after teardown began" }));
});

describe("Kysely on mysql2: what users do, and nothing Hyperdrive refuses", () => {
  beforeAll(() =>
    run(async (db) => {
      await sql`drop table if exists kysely_people`.execute(db);
      await sql`create table kysely_people (id serial primary key, name varchar(64) not null)`.execute(db);
    }),
  );

  it("inserts, updates, deletes, selects, runs transactions and streams without COM_STMT_PREPARE", async () => {
    const before = await prepares();
    const result = await run(async (db) => {
      const inserted = await db.insertInto("kysely_people").values({ name: "Ada" }).executeTakeFirst();
      await db
        .updateTable("kysely_people")
        .set({ name: "Ada L." })
        .where("id", "=", Number(inserted.insertId))
        .execute();
      await db.transaction().execute(async (trx) => {
        await trx.insertInto("kysely_people").values({ name: "Grace" }).execute();
        await trx.deleteFrom("kysely_people").where("name", "=", "Grace").execute();
      });
      const streamed: string[] = [];
      for await (const row of db.selectFrom("kysely_people").select("name").stream()) streamed.push(row.name);
      return {
        streamed,
        rows: await db.selectFrom("kysely_people").select("name").where("name", "=", "Ada L.").execute(),
      };
    });
    expect(await prepares()).toBe(before);
    expect(result).toEqual({ streamed: ["Ada L."], rows: [{ name: "Ada L." }] });
  });

  it("db.destroy() leaves the request's connections to the scope: the pool still queries, teardown closes once", async () => {
    const outcome = await adminScoped(
      async (pool: Pool) => {
        const first = createKysely(pool);
        await sql`select 1`.execute(first);
        await first.destroy();
        return (await sql<{ one: number }>`select 1 as one`.execute(createKysely(pool))).rows;
      },
      { pool: true },
    );
    expect(outcome.error).toBeUndefined();
    expect(outcome.value).toEqual([{ one: 1 }]);
    expect(outcome.events.filter((event) => event.type === "error")).toEqual([]);
    expect(lifecycle(outcome.events).at(-1)).toBe("teardown:closed");
  });

  it("passes the database's own errors through as mysql2 raised them (errno), as Kysely does", async () => {
    const { error } = await scoped((db: Kysely<Database>) =>
      sql`insert into kysely_people (id, name) values (1000, 'a'), (1000, 'b')`.execute(db),
    );
    expect(isHyperdriveError(error)).toBe(false);
    expect((error as { errno?: number }).errno).toBe(1062);
    expect(classify(error)).toMatchObject({ type: "database", errno: 1062 });
  });
});
