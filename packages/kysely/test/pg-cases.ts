/** What a Kysely user does on PostgreSQL, through the handle: the same for node-postgres and Postgres.js. */
import { classify, isHyperdriveError } from "@hyperdrive-kit/core";
import { lifecycle, type Outcome } from "@hyperdrive-kit/testing/suite";
import { type Generated, type Kysely, sql } from "kysely";
import { beforeAll, expect, it } from "vitest";

interface Database {
  kysely_people: { id: Generated<number>; name: string };
}

// biome-ignore lint/suspicious/noExplicitAny: any database
type Scoped = <T>(fn: (db: Kysely<any>) => Promise<T>) => Promise<Outcome<T>>;
/** Runs `fn` in a request scope with a maker of Kysely instances on that request's one handle (`createKysely`). */
// biome-ignore lint/suspicious/noExplicitAny: any database
type OnOneHandle = <T>(fn: (make: () => Kysely<any>) => Promise<T>) => Promise<Outcome<T>>;

export function describePgKyselyCases(scoped: Scoped, onOneHandle: OnOneHandle): void {
  const run = async <T>(fn: (db: Kysely<Database>) => Promise<T>): Promise<T> => {
    const { value, error } = await scoped(fn as never);
    if (error) throw error;
    return value as T;
  };

  beforeAll(() =>
    run(async (db) => {
      await sql`drop table if exists kysely_people`.execute(db);
      await sql`create table kysely_people (id serial primary key, name text not null)`.execute(db);
    }),
  );

  it("inserts, updates, deletes and selects, with returning and affected-row counts", async () => {
    const result = await run(async (db) => {
      const inserted = await db
        .insertInto("kysely_people")
        .values([{ name: "Ada" }, { name: "Grace" }])
        .returning("name")
        .execute();
      const updated = await db
        .updateTable("kysely_people")
        .set({ name: "Ada L." })
        .where("name", "=", "Ada")
        .executeTakeFirst();
      const deleted = await db.deleteFrom("kysely_people").where("name", "=", "Grace").executeTakeFirst();
      const rows = await db.selectFrom("kysely_people").select("name").execute();
      return { inserted, updated: updated.numUpdatedRows, deleted: deleted.numDeletedRows, rows };
    });
    expect(result).toEqual({
      inserted: [{ name: "Ada" }, { name: "Grace" }],
      updated: 1n,
      deleted: 1n,
      rows: [{ name: "Ada L." }],
    });
  });

  it("commits a transaction on one connection and rolls one back when its callback throws", async () => {
    const names = await run(async (db) => {
      await db.transaction().execute(async (trx) => {
        await trx.insertInto("kysely_people").values({ name: "Committed" }).execute();
        // Same connection as the insert: it sees the uncommitted row.
        const seen = await trx.selectFrom("kysely_people").select("name").where("name", "=", "Committed").execute();
        expect(seen).toHaveLength(1);
      });
      await db
        .transaction()
        .setIsolationLevel("serializable")
        .execute(async (trx) => {
          await trx.insertInto("kysely_people").values({ name: "Rolled back" }).execute();
          throw new Error("roll back");
        })
        .catch(() => {});
      return (await db.selectFrom("kysely_people").select("name").execute()).map((row) => row.name);
    });
    expect(names).toContain("Committed");
    expect(names).not.toContain("Rolled back");
  });

  it("streams a query's rows", async () => {
    const streamed = await run(async (db) => {
      const seen: number[] = [];
      for await (const row of db
        .selectFrom(sql<{ n: number }>`generate_series(1, 5)`.as("t"))
        .select(sql<number>`t`.as("n"))
        .stream(2)) {
        seen.push(Number(row.n));
      }
      return seen;
    });
    expect(streamed).toEqual([1, 2, 3, 4, 5]);
  });

  it("db.destroy() leaves the request's connections to the scope: the handle still queries, teardown closes once", async () => {
    const outcome = await onOneHandle(async (make) => {
      const first = make();
      await sql`select 1`.execute(first);
      await first.destroy();
      return (await sql<{ one: number }>`select 1 as one`.execute(make())).rows;
    });
    expect(outcome.error).toBeUndefined();
    expect(outcome.value).toEqual([{ one: 1 }]);
    expect(outcome.events.filter((event) => event.type === "error")).toEqual([]);
    expect(lifecycle(outcome.events).at(-1)).toBe("teardown:closed");
  });

  it("passes the database's own errors through as the driver raised them (SQLSTATE), as Kysely does", async () => {
    const { error } = await scoped((db) =>
      sql`insert into kysely_people (id, name) values (1, 'a'), (1, 'b')`.execute(db),
    );
    expect(isHyperdriveError(error)).toBe(false);
    expect((error as { code?: string }).code).toBe("23505");
    expect(classify(error)).toMatchObject({ type: "database", sqlState: "23505" });
  });
}
