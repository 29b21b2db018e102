import { env } from "cloudflare:workers";
import { globalScopeWorker } from "@hyperdrive-kit/testing/conformance";
import { PrismaClient } from "../../.generated/mariadb/client.ts";
import { withPrisma } from "../../src/mariadb.ts";

export default globalScopeWorker((ctx) =>
  withPrisma(env, ctx, (prisma) => prisma.$queryRaw`select 1`, { PrismaClient }),
);
