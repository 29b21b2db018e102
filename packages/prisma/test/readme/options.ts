import { withPrisma } from "@hyperdrive-kit/prisma/pg";
import { PrismaClient } from "./generated/prisma/client";

export default {
  fetch: (request, env, ctx) =>
    withPrisma(
      env,
      ctx,
      async (prisma) => {
        // Interactive transactions take a connection of the request's pool; keep them short (Hyperdrive pools per
        // transaction).
        const user = await prisma.$transaction(async (tx) => {
          const created = await tx.user.create({ data: { email: "ada@example.com", name: "Ada" } });
          return tx.user.update({ where: { id: created.id }, data: { name: "Ada Lovelace" } });
        });
        return Response.json(user);
      },
      {
        PrismaClient,
        prisma: { transactionOptions: { timeout: 5_000 } }, // new PrismaClient({ ... })
        adapterOptions: { schema: "public" }, // new PrismaPg(pool, { ... })
        binding: "HYPERDRIVE",
        client: { max: 2 }, // the request's pg Pool
        connectTimeoutMs: 5_000,
      },
    ),
} satisfies ExportedHandler<Env>;
