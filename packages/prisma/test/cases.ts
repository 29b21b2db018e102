/** What a Prisma user does, through the handle: the same on every engine (the tables differ, created with SQL). */
import { classify, findHyperdriveError, isHyperdriveError } from "@hyperdrive-kit/core";
import type { Outcome } from "@hyperdrive-kit/testing/suite";
import { beforeAll, expect, inject, it } from "vitest";

/** The generated clients' shared shape (each test schema has the same two models). */
export interface Prisma {
  $executeRawUnsafe(sql: string): PromiseLike<number>;
  $queryRawUnsafe<T = unknown>(sql: string): PromiseLike<T>;
  // biome-ignore lint/suspicious/noExplicitAny: the generated clients' own overloads
  $transaction: any;
  $disconnect(): Promise<void>;
  // biome-ignore lint/suspicious/noExplicitAny: the generated clients' tagged templates
  $queryRaw: any;
  // biome-ignore lint/suspicious/noExplicitAny: the generated clients' tagged templates
  $executeRaw: any;
  // biome-ignore lint/suspicious/noExplicitAny: the generated delegates
  author: any;
  // biome-ignore lint/suspicious/noExplicitAny: the generated delegates
  book: any;
}

export type Scoped = <T>(fn: (prisma: Prisma) => Promise<T>, options?: Record<string, unknown>) => Promise<Outcome<T>>;

export const value = async <T>(outcome: Promise<Outcome<T>>): Promise<T> => {
  const { value, error } = await outcome;
  if (error) throw error;
  return value as T;
};

/** The test tables, created with SQL (migrations need Prisma's schema engine, which is not installed). */
export function createTables(scoped: Scoped, ddl: readonly string[]): void {
  beforeAll(async () => {
    await value(
      scoped(async (prisma) => {
        for (const statement of ddl) await prisma.$executeRawUnsafe(statement);
      }),
    );
  });
}

/** Every Prisma path the MySQL tests count COM_STMT_PREPARE for, one request; returns what they read. */
export async function everyPath(prisma: Prisma) {
  await prisma.book.deleteMany();
  await prisma.author.deleteMany();
  const ada = await prisma.author.create({ data: { name: "Ada" } });
  await prisma.book.create({ data: { title: "Notes", authorId: ada.id } });
  await prisma.book.updateMany({ where: { authorId: ada.id }, data: { title: "Notes (2nd ed.)" } });
  const unique = await prisma.author.findUnique({ where: { name: "Ada" }, include: { books: true } });
  const [, batchDeleted] = await prisma.$transaction([
    prisma.book.create({ data: { title: "Letters", authorId: ada.id } }),
    prisma.book.deleteMany({ where: { title: "Letters" } }),
  ]);
  const interactive = await prisma.$transaction(async (tx: Prisma) => {
    const letters = await tx.book.create({ data: { title: "Drafts", authorId: ada.id } });
    await tx.book.update({ where: { id: letters.id }, data: { title: "Drafts (lost)" } });
    await tx.book.delete({ where: { id: letters.id } });
    return tx.book.count();
  });
  const raw = await prisma.$queryRawUnsafe<Array<{ n: unknown }>>("select count(*) as n from prisma_books");
  const executed = await prisma.$executeRawUnsafe("update prisma_books set title = title");
  const many = await prisma.author.findMany({ include: { books: { select: { title: true } } } });
  return { unique, batchDeleted, interactive, raw: Number(raw[0]?.n), executed, many };
}

/** Each Prisma path on its own, in order (each one's request sees what the previous ones left). */
export const PATHS: ReadonlyArray<readonly [string, (prisma: Prisma) => Promise<unknown>]> = [
  ["create", (prisma) => prisma.author.create({ data: { name: "Path" } })],
  ["findMany (with a relation)", (prisma) => prisma.author.findMany({ include: { books: true } })],
  ["findUnique", (prisma) => prisma.author.findUnique({ where: { name: "Path" } })],
  ["update", (prisma) => prisma.author.update({ where: { name: "Path" }, data: { name: "Path 2" } })],
  ["$transaction (batch)", (prisma) => prisma.$transaction([prisma.author.count(), prisma.book.count()])],
  [
    "$transaction (interactive)",
    (prisma) => prisma.$transaction(async (tx: Prisma) => tx.author.findUnique({ where: { name: "Path 2" } })),
  ],
  ["$queryRaw (with a parameter)", (prisma) => prisma.$queryRaw`select ${1} as one`],
  [
    "$executeRaw (with a parameter)",
    (prisma) => prisma.$executeRaw`update prisma_authors set name = name where id = ${0}`,
  ],
  ["delete", (prisma) => prisma.author.delete({ where: { name: "Path 2" } })],
];

/** Sets the fault proxy's mode for connections accepted from now on. */
async function proxyMode(mode: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${inject("controlUrl")}/proxy/mode`, {
    method: "POST",
    body: JSON.stringify({ mode }),
  });
  if (!response.ok) throw new Error(`fault control: ${response.status} ${await response.text()}`);
}

export function describePrismaCases(scoped: Scoped): void {
  it("starts an interactive $transaction on a connection slower to open than Prisma's maxWait (2 s), within connectTimeoutMs", async () => {
    // Every chunk held 600 ms each way: the connect takes several seconds, well inside the handle's bound. Prisma's
    // own default maxWait (2 s) gave up first with an untyped P2028 "Unable to start a transaction in the given time".
    await proxyMode({ kind: "delay", ms: 600 });
    try {
      const { value, error } = await scoped(
        async (prisma) => prisma.$transaction(async (tx: Prisma) => tx.$queryRawUnsafe("select 1 as one")),
        {
          binding: "VIA_PROXY",
          connectTimeoutMs: 30_000,
          prisma: { transactionOptions: { timeout: 30_000 } }, // the user's own timeout; maxWait left to the default
        },
      );
      expect((error as { code?: unknown } | undefined)?.code).toBeUndefined();
      expect(value).toEqual([{ one: 1 }]);
    } finally {
      await proxyMode({ kind: "pass" });
    }
  });

  it("keeps a maxWait the user set: Prisma's P2028 when the connection is slower than it", async () => {
    await proxyMode({ kind: "delay", ms: 600 });
    try {
      const { error } = await scoped(
        async (prisma) => prisma.$transaction(async (tx: Prisma) => tx.$queryRawUnsafe("select 1 as one")),
        { binding: "VIA_PROXY", connectTimeoutMs: 30_000, prisma: { transactionOptions: { maxWait: 500 } } },
      );
      expect((error as { code?: unknown }).code).toBe("P2028");
    } finally {
      await proxyMode({ kind: "pass" });
    }
  });

  it("runs create, findUnique with a relation, update, delete, both kinds of $transaction and raw queries", async () => {
    const result = await value(scoped((prisma) => everyPath(prisma)));
    expect(result.unique).toMatchObject({ name: "Ada", books: [{ title: "Notes (2nd ed.)" }] });
    expect(result.batchDeleted).toEqual({ count: 1 });
    expect(result.interactive).toBe(1);
    expect(result.executed).toBe(1);
    expect(result.many).toEqual([{ id: expect.any(Number), name: "Ada", books: [{ title: "Notes (2nd ed.)" }] }]);
    expect(result.raw).toBe(1);
  });

  it("refuses adapterOptions.disposeExternalPool: true (the scope owns the pool) before sending anything", async () => {
    const { error } = await scoped(async (prisma) => prisma.author.count(), {
      adapterOptions: { disposeExternalPool: true },
    });
    expect(error).toMatchObject({
      code: "HDK_INVALID_OPTION",
      message: expect.stringContaining("`adapterOptions.disposeExternalPool: true` was passed"),
      fix: expect.stringContaining("Remove `disposeExternalPool` from `adapterOptions`"),
    });
  });

  it("rolls an interactive $transaction back when its callback throws", async () => {
    const names = await value(
      scoped(async (prisma) => {
        await prisma
          .$transaction(async (tx: Prisma) => {
            await tx.author.create({ data: { name: "Never" } });
            throw new Error("roll back");
          })
          .catch(() => {});
        return (await prisma.author.findMany()).map((row: { name: string }) => row.name);
      }),
    );
    expect(names).not.toContain("Never");
  });

  it("classifies a unique violation (P2002) as the database's error, with what the driver said", async () => {
    const { error } = await scoped(async (prisma) => {
      await prisma.author.upsert({ where: { name: "Grace" }, create: { name: "Grace" }, update: {} });
      await prisma.author.create({ data: { name: "Grace" } });
    });
    expect((error as { code?: unknown }).code).toBe("P2002");
    expect((error as Error).name).toBe("PrismaClientKnownRequestError");
    expect(classify(error)).toMatchObject({ type: "database" });
    expect(findHyperdriveError(error)).toBeUndefined();
  });

  it("fails a client kept past its request at the call, with the typed error itself, before Prisma runs", async () => {
    const kept = await value(scoped(async (prisma) => prisma));
    const outside = await scoped(async () => kept.author.findMany());
    expect(isHyperdriveError(outside.error)).toBe(true);
    expect((outside.error as { code?: unknown }).code).toBe("HDK_HANDLE_CROSS_REQUEST");
    // A query built in its request and run after it: Prisma reaches the pool, which refuses; Prisma copies the code.
    const query = await value(scoped(async (prisma) => ({ pending: prisma.$queryRawUnsafe("select 1") })));
    const late = await scoped(async () => await query.pending);
    expect(findHyperdriveError(late.error)?.code).toBe("HDK_HANDLE_CROSS_REQUEST");
    expect(classify(late.error)).toMatchObject({ type: "catalog", code: "HDK_HANDLE_CROSS_REQUEST" });
  });

  it("keeps the code and the fix where Prisma puts what it copies (code, message, meta) for a refused connection", async () => {
    const { error } = await scoped((prisma) => prisma.author.findMany(), { binding: "DOWN", connectTimeoutMs: 5_000 });
    // Prisma drops the HyperdriveError itself: an app that shows `error.message` or logs `error.meta` still sees both.
    expect(isHyperdriveError(error)).toBe(false);
    expect((error as Error).name).toBe("PrismaClientKnownRequestError");
    const { code, message, meta } = error as { code: string; message: string; meta: Record<string, unknown> };
    expect(code).toBe("HDK_CONNECT_REFUSED");
    expect(message).toContain("HDK_CONNECT_REFUSED");
    expect(meta).toMatchObject({ code: "HDK_CONNECT_REFUSED", category: "connection", retryable: true });
    expect(meta.fix).toEqual(expect.any(String));
    expect(message).toContain(`Fix: ${meta.fix}`);
    expect(findHyperdriveError(error)).toMatchObject({ code: "HDK_CONNECT_REFUSED", retryable: true });
  });

  it("finds the HyperdriveError behind Prisma's error with its text and fix once, not nested in its own message", async () => {
    const { error } = await scoped(async (prisma) => prisma.$queryRawUnsafe("select 1"), { binding: "DOWN" });
    const found = findHyperdriveError(error);
    expect(found?.code).toBe("HDK_CONNECT_REFUSED");
    const message = String(found?.message);
    const count = (text: string) => message.split(text).length - 1;
    expect(
      { prefix: count("[hyperdrive-kit]"), fix: count(" Fix: "), code: count("HDK_CONNECT_REFUSED") },
      message,
    ).toEqual({
      prefix: 1,
      fix: 1,
      code: 1,
    });
    // The driver named in the copied text is kept; Prisma's own words stay in front, once.
    expect(["pg", "mariadb"]).toContain(found?.driver);
    expect(message).toContain("prisma.$queryRawUnsafe()");
    expect(found?.cause).toBe(error);
  });

  it("lets $disconnect() run inside the request without breaking teardown or later queries", async () => {
    const {
      value: n,
      error,
      events,
    } = await scoped(async (prisma) => {
      await prisma.author.count();
      await prisma.$disconnect();
      return prisma.author.count(); // Prisma connects its adapter again, on the same request pool
    });
    expect(error).toBeUndefined();
    expect(typeof n).toBe("number");
    expect(events.filter((event) => event.type === "teardown").map((event) => event.outcome)).toEqual(["closed"]);
  });
}
