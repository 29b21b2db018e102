import { attach } from "@hyperdrive-kit/core/adapter";
import { postgresAdapter } from "@hyperdrive-kit/postgres";
import {
  createConformanceWorker,
  type DerivedObject,
  postgresDialect,
  type Rows,
} from "@hyperdrive-kit/testing/conformance";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/postgres-js";
import { type DrizzlePostgres, withDrizzle } from "../../src/postgres.ts";
import { drizzleDerived } from "../derived.ts";

export default createConformanceWorker<DrizzlePostgres>({
  ...postgresDialect,
  withHyperdrive: withDrizzle,
  attach: (scope, env, options) => drizzle(attach(postgresAdapter, scope, env, options)),
  query: async (db, text) => [...(await db.execute(sql.raw(text)))] as Rows,
  derived: () => drizzleDerived as Record<string, DerivedObject<DrizzlePostgres>>,
});
