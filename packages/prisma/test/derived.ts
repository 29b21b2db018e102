import type { DerivedObject } from "@hyperdrive-kit/testing/conformance";

/** What every generated client in these tests has: raw queries, transactions and an `author` model. */
export interface Client {
  $queryRawUnsafe<T = unknown>(sql: string): PromiseLike<T>;
  $transaction<T>(fn: (tx: Client) => Promise<T>): Promise<T>;
  author: { findMany(): PromiseLike<unknown> };
}

/** What a Prisma client gives out that reaches the database later: `tx`, a model delegate, a query not yet run. */
export const prismaDerived: Record<string, DerivedObject<Client>> = {
  "$transaction()'s tx": {
    make: (prisma, keep) =>
      prisma.$transaction(async (tx) => {
        keep(tx);
        await tx.$queryRawUnsafe("select 1");
      }),
    use: async (tx) => await (tx as Client).$queryRawUnsafe("select 1"),
  },
  "a model delegate": {
    make: async (prisma, keep) => {
      await prisma.author.findMany();
      keep(prisma.author);
    },
    use: async (delegate) => await (delegate as Client["author"]).findMany(),
  },
  // A PrismaPromise runs when awaited.
  "a query not yet run": {
    make: async (prisma, keep) => keep(prisma.$queryRawUnsafe("select 1")),
    use: async (query) => await (query as PromiseLike<unknown>),
  },
};
