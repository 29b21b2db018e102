/** What a Drizzle user does on PostgreSQL, through the handle: the same for node-postgres and Postgres.js. */
import { classify, findHyperdriveError, isHyperdriveError } from "@hyperdrive-kit/core";
import type { Outcome } from "@hyperdrive-kit/testing/suite";
import { eq, relations, sql } from "drizzle-orm";
import { DrizzleQueryError } from "drizzle-orm/errors";
import type { PgDatabase } from "drizzle-orm/pg-core";
import { integer, pgTable, serial, text } from "drizzle-orm/pg-core";
import { beforeAll, expect, it } from "vitest";

export const authors = pgTable("drizzle_authors", { id: serial("id").primaryKey(), name: text("name").notNull() });
export const books = pgTable("drizzle_books", {
  id: serial("id").primaryKey(),
  title: text("title").notNull(),
  authorId: integer("author_id").notNull(),
});
export const authorsRelations = relations(authors, ({ many }) => ({ books: many(books) }));
export const booksRelations = relations(books, ({ one }) => ({
  author: one(authors, { fields: [books.authorId], references: [authors.id] }),
}));
export const schema = { authors, books, authorsRelations, booksRelations };

// biome-ignore lint/suspicious/noExplicitAny: both drivers' databases, with the test schema
type Db = PgDatabase<any, typeof schema>;
type Scoped = <T>(fn: (db: Db) => Promise<T>, options?: Record<string, unknown>) => Promise<Outcome<T>>;

const value = async <T>(outcome: Promise<Outcome<T>>): Promise<T> => {
  const { value, error } = await outcome;
  if (error) throw error;
  return value as T;
};

export function describePgDrizzleCases(scoped: Scoped): void {
  beforeAll(async () => {
    await value(
      scoped(async (db) => {
        await db.execute(sql`drop table if exists drizzle_books, drizzle_authors`);
        await db.execute(sql`create table drizzle_authors (id serial primary key, name text not null)`);
        await db.execute(
          sql`create table drizzle_books (id serial primary key, title text not null, author_id int not null)`,
        );
      }),
    );
  });

  it("passes the schema through: insert, update, delete, select, relational queries, prepared queries", async () => {
    const result = await value(
      scoped(
        async (db) => {
          const [ada] = await db.insert(authors).values({ name: "Ada" }).returning();
          if (!ada) throw new Error("no row returned");
          await db.insert(books).values([
            { title: "Notes", authorId: ada.id },
            { title: "Letters", authorId: ada.id },
          ]);
          await db.update(books).set({ title: "Notes (2nd ed.)" }).where(eq(books.title, "Notes"));
          await db.delete(books).where(eq(books.title, "Letters"));
          const relational = await db.query.authors.findMany({ with: { books: { columns: { title: true } } } });
          const byName = db
            .select({ name: authors.name })
            .from(authors)
            .where(eq(authors.name, sql.placeholder("name")))
            .prepare("author_by_name");
          const prepared = await byName.execute({ name: "Ada" });
          return { relational, prepared };
        },
        { schema },
      ),
    );
    expect(result.relational).toEqual([{ id: expect.any(Number), name: "Ada", books: [{ title: "Notes (2nd ed.)" }] }]);
    expect(result.prepared).toEqual([{ name: "Ada" }]);
  });

  it("commits a transaction and rolls one back when its callback throws", async () => {
    const names = await value(
      scoped(async (db) => {
        await db.transaction(async (tx) => {
          await tx.insert(authors).values({ name: "Grace" });
        });
        await db
          .transaction(async (tx) => {
            await tx.insert(authors).values({ name: "Never" });
            throw new Error("roll back");
          })
          .catch(() => {});
        return (await db.select({ name: authors.name }).from(authors)).map((row) => row.name);
      }),
    );
    expect(names).toContain("Grace");
    expect(names).not.toContain("Never");
  });

  it("fails a Drizzle instance kept past its request with the typed error inside Drizzle's wrapper", async () => {
    const kept = await value(scoped(async (db) => db));
    const { error } = await scoped(() => kept.execute(sql`select 1`));
    expect(error).toBeInstanceOf(DrizzleQueryError);
    expect(findHyperdriveError(error)?.code).toBe("HDK_HANDLE_CROSS_REQUEST");
    expect(classify(error)).toMatchObject({ type: "catalog", code: "HDK_HANDLE_CROSS_REQUEST" });
  });

  it("keeps the code and the fix on DrizzleQueryError's cause, where Drizzle keeps the driver's error", async () => {
    const { error } = await scoped((db) => db.execute(sql`select 1`), { binding: "DOWN", connectTimeoutMs: 5_000 });
    expect(error).toBeInstanceOf(DrizzleQueryError);
    // Drizzle's own message names the query only: an app that shows `error.message` must look at `cause`.
    expect((error as Error).message).toMatch(/^Failed query: select 1/);
    const { cause } = error as DrizzleQueryError;
    expect(isHyperdriveError(cause)).toBe(true);
    expect(cause).toMatchObject({ code: "HDK_CONNECT_REFUSED", retryable: true, fix: expect.any(String) });
    expect((cause as Error).message).toContain(`HDK_CONNECT_REFUSED`);
    expect(findHyperdriveError(error)).toBe(cause);
  });

  it("lets the database's own errors through Drizzle's wrapper, classified as the database's", async () => {
    const { error } = await scoped((db) => db.execute(sql`select * from no_such_table`));
    expect(error).toBeInstanceOf(DrizzleQueryError);
    expect(classify(error)).toMatchObject({ type: "database", sqlState: "42P01" });
    expect(findHyperdriveError(error)).toBeUndefined();
  });
}
