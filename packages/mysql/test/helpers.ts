/** Test helpers that run inside workerd: `scoped` (a scope per call) and the ADMIN binding. */

import { mysqlDialect } from "@hyperdrive-kit/testing/conformance";
import { scopedRunner } from "@hyperdrive-kit/testing/suite";
import { type MysqlConnection, withHyperdrive } from "../src/index.ts";

export const scoped = scopedRunner<MysqlConnection>(withHyperdrive as never);

/** Runs one statement through the ADMIN binding, in a scope of its own. */
export async function admin<Row = Record<string, unknown>>(sql: string): Promise<Row[]> {
  const { value, error } = await scoped(async (db) => (await db.queryAsync<Row[]>(sql))[0], { binding: "ADMIN" });
  if (error) throw error;
  return value as Row[];
}

/** Client connections to the test database other than ADMIN's own, as the server counts them. */
export async function connections(): Promise<number> {
  return Number((await admin<{ n: unknown }>(mysqlDialect.countConnectionsSql))[0]?.n);
}

export { type Binding, bindings, errorEvent, lifecycle, type Outcome } from "@hyperdrive-kit/testing/suite";
