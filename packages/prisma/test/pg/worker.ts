import {
  createConformanceWorker,
  type DerivedObject,
  postgresDialect,
  type Rows,
} from "@hyperdrive-kit/testing/conformance";
import { PrismaClient } from "../../.generated/pg/client.ts";
import { attachPrisma, withPrisma } from "../../src/pg.ts";
import { prismaDerived } from "../derived.ts";

type Prisma = InstanceType<typeof PrismaClient>;

export default createConformanceWorker<Prisma>({
  ...postgresDialect,
  withHyperdrive: (env, ctx, fn, options) => withPrisma(env, ctx, fn, { ...options, PrismaClient }),
  attach: (scope, env, options) => attachPrisma(scope, env, { ...options, PrismaClient }),
  query: (prisma, text) => prisma.$queryRawUnsafe<Rows>(text),
  derived: () => prismaDerived as unknown as Record<string, DerivedObject<Prisma>>,
});
