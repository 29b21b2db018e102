import { withPrisma } from "@hyperdrive-kit/prisma/mariadb";
import { PrismaClient } from "./generated/prisma/client";

export default {
  fetch: (request, env, ctx) =>
    withPrisma(env, ctx, async (prisma) => Response.json(await prisma.user.count()), { PrismaClient }),
} satisfies ExportedHandler<Env>;
