import { classify, findHyperdriveError, withPrisma } from "@hyperdrive-kit/prisma/pg";
import { PrismaClient } from "./generated/prisma/client";

export default {
  fetch: (request, env, ctx) =>
    withPrisma(env, ctx, async (prisma) => Response.json(await prisma.user.findMany()), { PrismaClient }).catch(
      (error: unknown) => {
        // Connection, lifecycle and Hyperdrive errors, also when Prisma wrapped them in its own error.
        const typed = findHyperdriveError(error);
        if (typed) return Response.json({ code: typed.code, retryable: typed.retryable }, { status: 503 });
        // P2002 and friends: what the database said (SQLSTATE or errno), behind Prisma's code.
        const classified = classify(error);
        if (classified.type === "database") return Response.json({ sqlState: classified.sqlState }, { status: 409 });
        throw error;
      },
    ),
} satisfies ExportedHandler<Env>;
