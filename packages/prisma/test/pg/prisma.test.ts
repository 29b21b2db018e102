import { describeFaults, pgFaultExpectations } from "@hyperdrive-kit/testing/faults";
import { describeConformance, scopedRunner } from "@hyperdrive-kit/testing/suite";
import { describe } from "vitest";
import { PrismaClient } from "../../.generated/pg/client.ts";
import { withPrisma } from "../../src/pg.ts";
import { createTables, describePrismaCases, type Scoped } from "../cases.ts";

const scoped = scopedRunner((env, ctx, fn, options) =>
  withPrisma(env, ctx, fn as never, { ...(options as object | undefined), PrismaClient }),
) as Scoped;

describe("Prisma on @prisma/adapter-pg (a pg Pool per request)", () => {
  createTables(scoped, [
    "drop table if exists prisma_books, prisma_authors",
    "create table prisma_authors (id serial primary key, name text not null unique)",
    "create table prisma_books (id serial primary key, title text not null, author_id int not null references prisma_authors (id))",
  ]);
  describeConformance();
  describe("under real faults", () => describeFaults(pgFaultExpectations));
  describe("what users do", () => describePrismaCases(scoped));
});
