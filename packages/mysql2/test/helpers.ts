/** Test helpers that run inside workerd: `scoped` (a scope per call), the ADMIN binding, server status counters. */

import { mysqlDialect } from "@hyperdrive-kit/testing/conformance";
import { scopedRunner } from "@hyperdrive-kit/testing/suite";
import type { Pool } from "mysql2/promise";
// The handle's and the events' types, as users import them: from the adapter package.
import { type HyperdriveEvent, type Mysql2Connection, withHyperdrive } from "../src/index.ts";

export const scoped = scopedRunner<Mysql2Connection>(withHyperdrive as never);

export const pooled = <T>(
  fn: (db: Pool, events: HyperdriveEvent[]) => Promise<T>,
  options: Record<string, unknown> = {},
) => scoped<T, Pool>(fn, { pool: true, ...options });

/** Runs one statement through the ADMIN binding, in a scope of its own. */
export async function admin<Row = Record<string, unknown>>(sql: string): Promise<Row[]> {
  const { value, error } = await scoped(async (db) => (await db.query(sql))[0] as Row[], { binding: "ADMIN" });
  if (error) throw error;
  return value as Row[];
}

/** Client connections to the test database other than ADMIN's own, as the server counts them. */
export async function connections(): Promise<number> {
  return Number((await admin<{ n: unknown }>(mysqlDialect.countConnectionsSql))[0]?.n);
}

/** Server-wide counters: COM_STMT_PREPARE and COM_STMT_EXECUTE messages received since the server started. */
export async function statementCounters(): Promise<{ prepare: number; execute: number }> {
  const rows = await admin<{ Variable_name: string; Value: string }>(
    "show global status where Variable_name in ('Com_stmt_prepare', 'Com_stmt_execute')",
  );
  const value = (name: string) => Number(rows.find((row) => row.Variable_name === name)?.Value);
  return { prepare: value("Com_stmt_prepare"), execute: value("Com_stmt_execute") };
}

/** The underlying callback connection, which mysql2's promise wrapper keeps as `.connection` (in the handle's type). */
export const callbackConnection = (db: Mysql2Connection) => db.connection;

export { type Binding, bindings, errorEvent, lifecycle, type Outcome } from "@hyperdrive-kit/testing/suite";
