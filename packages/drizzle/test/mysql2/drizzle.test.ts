import { classify, findHyperdriveError, isHyperdriveError } from "@hyperdrive-kit/core";
import { withHyperdrive } from "@hyperdrive-kit/mysql2";
import { describeFaults } from "@hyperdrive-kit/testing/faults";
import { mysqlFaultExpectations, stmtPrepares } from "@hyperdrive-kit/testing/mysql";
import { bindings, describeConformance, type Outcome, scopedRunner, useMode } from "@hyperdrive-kit/testing/suite";
import { eq, relations, sql } from "drizzle-orm";
import { DrizzleQueryError } from "drizzle-orm/errors";
import { int, mysqlTable, serial, varchar } from "drizzle-orm/mysql-core";
import { drizzle } from "drizzle-orm/mysql2";
import { createConnection } from "mysql2/promise";
import { beforeAll, describe, expect, it } from "vitest";
import { type DrizzleMysql2, withDrizzle } from "../../src/mysql2.ts";

const authors = mysqlTable("drizzle_authors", { id: serial("id").primaryKey(), name: varchar("name", { length: 64 }) });
const books = mysqlTable("drizzle_books", {
  id: serial("id").primaryKey(),
  title: varchar("title", { length: 64 }).notNull(),
  authorId: int("author_id").notNull(),
});
const schema = {
  authors,
  books,
  authorsRelations: relations(authors, ({ many }) => ({ books: many(books) })),
  booksRelations: relations(books, ({ one }) => ({
    author: one(authors, { fields: [books.authorId], references: [authors.id] }),
  })),
};

type Db = DrizzleMysql2<typeof schema>;
const scoped = scopedRunner<Db>(withDrizzle as never);
const adminScoped = scopedRunner(withHyperdrive as never);

const value = async <T>(outcome: Promise<Outcome<T>>): Promise<T> => {
  const { value, error } = await outcome;
  if (error) throw error;
  return value as T;
};

const prepares = () => stmtPrepares(adminScoped);

describe("Drizzle on a mysql2 Connection", () => {
  describeConformance();
  describe("under real faults", () => describeFaults(mysqlFaultExpectations));
});

describe("Drizzle on a mysql2 Pool ({ pool: true })", () => {
  useMode({ pool: true });
  describeConformance();
  describe("under real faults", () => describeFaults(mysqlFaultExpectations));
});

describe("Drizzle on mysql2: nothing Hyperdrive refuses", () => {
  beforeAll(async () => {
    await value(
      scoped(async (db) => {
        await db.execute(sql`drop table if exists drizzle_books, drizzle_authors`);
        await db.execute(sql`create table drizzle_authors (id serial primary key, name varchar(64))`);
        await db.execute(
          sql`create table drizzle_books (id serial primary key, title varchar(64) not null, author_id int not null)`,
        );
      }),
    );
  });

  /**
   * Every path Drizzle has to the database, in the order one request runs them, each with the COM_STMT_PREPARE
   * messages it sent (read at the server's counter before and after it).
   */
  const everyPath = async (db: Db) => {
    let adaId = 0;
    const paths: Array<[name: string, run: () => Promise<unknown>]> = [
      ["insert without returning", () => db.insert(authors).values({ name: "Ada" })],
      [
        "select",
        async () => {
          const [ada] = await db.select().from(authors).where(eq(authors.name, "Ada"));
          if (!ada) throw new Error("no row");
          adaId = ada.id;
        },
      ],
      ["insert", () => db.insert(books).values({ title: "Notes", authorId: adaId })],
      ["update", () => db.update(books).set({ title: "Notes (2nd ed.)" }).where(eq(books.authorId, adaId))],
      [
        "transaction (insert, delete)",
        () =>
          db.transaction(async (tx) => {
            await tx.insert(books).values({ title: "Letters", authorId: adaId });
            await tx.delete(books).where(eq(books.title, "Letters"));
          }),
      ],
      ["db.execute(sql`…`)", () => db.execute(sql`select count(*) as n from drizzle_books`)],
      ["relational query (db.query.authors.findMany)", () => db.query.authors.findMany({ with: { books: true } })],
      [
        "prepared query (.prepare().execute())",
        () =>
          db
            .select({ title: books.title })
            .from(books)
            .where(eq(books.authorId, sql.placeholder("id")))
            .prepare()
            .execute({ id: adaId }),
      ],
      // The one path where Drizzle calls mysql2's execute() (COM_STMT_PREPARE) itself: `session.all()`, which its
      // migrator runs to read the migrations table.
      [
        "session.all() (the migrator's read)",
        () =>
          (db as unknown as { session: { all(query: unknown): Promise<unknown[]> } }).session.all(
            sql`select count(*) as n from drizzle_books`,
          ),
      ],
    ];
    const counts: Record<string, number> = {};
    const results: Record<string, unknown> = {};
    for (const [name, run] of paths) {
      const before = await prepares();
      results[name] = await run();
      counts[name] = (await prepares()) - before;
    }
    return { counts, results };
  };

  for (const mode of [{}, { pool: true }]) {
    it(`sends no COM_STMT_PREPARE on any Drizzle path (${mode.pool ? "pool" : "connection"})`, async () => {
      await value(scoped((db) => db.delete(authors).then(() => db.delete(books))));
      // Drizzle's default mode builds relational queries with LATERAL joins (MySQL 8.0.14+), which MariaDB lacks;
      // its "planetscale" mode uses subqueries that both run.
      const { counts, results } = await value(scoped((db) => everyPath(db), { schema, mode: "planetscale", ...mode }));
      console.log(
        `COM_STMT_PREPARE per Drizzle path through the handle (${mode.pool ? "pool" : "connection"}):`,
        counts,
      );
      expect(Object.values(counts)).toEqual(Object.values(counts).map(() => 0));
      expect(results["relational query (db.query.authors.findMany)"]).toEqual([
        { id: expect.any(Number), name: "Ada", books: [expect.objectContaining({ title: "Notes (2nd ed.)" })] },
      ]);
      expect(results["prepared query (.prepare().execute())"]).toEqual([{ title: "Notes (2nd ed.)" }]);
      expect(results["db.execute(sql`…`)"]).toEqual([[{ n: 1 }], expect.anything()]);
    });
  }

  it("control: the same paths on a raw mysql2 connection do send COM_STMT_PREPARE", async () => {
    const { host, port, user, password, database } = bindings.HYPERDRIVE;
    const raw = await createConnection({ host, port, user, password, database, disableEval: true });
    try {
      await drizzle(raw).delete(books);
      await drizzle(raw).delete(authors);
      const { counts } = await everyPath(drizzle(raw, { schema, mode: "planetscale" }) as unknown as Db);
      console.log("COM_STMT_PREPARE per Drizzle path on a raw mysql2 connection:", counts);
      // drizzle-orm 0.45: only session.all() calls execute(); every other path already uses query().
      expect(counts["session.all() (the migrator's read)"]).toBeGreaterThan(0);
    } finally {
      await raw.end();
    }
  });

  it("keeps the code and the fix on DrizzleQueryError's cause, where Drizzle keeps the driver's error", async () => {
    const { error } = await scoped((db) => db.execute(sql`select 1`), { binding: "DOWN", connectTimeoutMs: 5_000 });
    expect(error).toBeInstanceOf(DrizzleQueryError);
    expect((error as Error).message).toMatch(/^Failed query: select 1/);
    const { cause } = error as DrizzleQueryError;
    expect(isHyperdriveError(cause)).toBe(true);
    expect(cause).toMatchObject({ code: "HDK_CONNECT_REFUSED", retryable: true, fix: expect.any(String) });
    expect(findHyperdriveError(error)).toBe(cause);
  });

  it("lets the database's own errors through Drizzle's wrapper, classified as the database's", async () => {
    const { error } = await scoped((db) => db.execute(sql`select * from no_such_table`));
    expect(error).toBeInstanceOf(DrizzleQueryError);
    expect(classify(error)).toMatchObject({ type: "database", errno: 1146 });
  });
});
