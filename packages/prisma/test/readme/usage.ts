import { withPrisma } from "@hyperdrive-kit/prisma/pg";
import { PrismaClient } from "./generated/prisma/client";

export default {
  fetch: (request, env, ctx) =>
    withPrisma(env, ctx, async (prisma) => Response.json(await prisma.user.findMany()), { PrismaClient }),
} satisfies ExportedHandler<Env>;
