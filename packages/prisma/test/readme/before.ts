import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "./generated/prisma/client";

export default {
  async fetch(request, env, ctx) {
    const adapter = new PrismaPg({ connectionString: env.HYPERDRIVE.connectionString });
    const prisma = new PrismaClient({ adapter });
    return Response.json(await prisma.user.findMany());
  },
} satisfies ExportedHandler<Env>;
