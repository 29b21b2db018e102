/** Test helpers that run inside workerd: a scope per call and the ADMIN binding. */

import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { HyperdriveEvent } from "@hyperdrive-kit/core";
import { type MysqlConnection, withHyperdrive } from "../src/index.ts";
import { COUNT_CONNECTIONS_SQL } from "./worker.ts";

export interface Binding {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  connectionString: string;
}

export const bindings = env as unknown as Record<
  "HYPERDRIVE" | "ADMIN" | "BAD_PASSWORD" | "DOWN" | "HANGS" | "FAKE_ORIGIN",
  Binding
>;

export interface Outcome<T> {
  /** What the callback returned, or undefined when it threw. */
  value: T | undefined;
  /** What the callback (or withHyperdrive) threw. */
  error: unknown;
  /** Every scope event, teardown included: the scope has fully settled when `scoped` returns. */
  events: HyperdriveEvent[];
}

/** Runs `fn` in its own request scope and waits for the teardown. Never throws: the outcome holds the error. */
export async function scoped<T, Db = MysqlConnection>(
  fn: (db: Db, events: HyperdriveEvent[]) => Promise<T>,
  options: Record<string, unknown> = {},
): Promise<Outcome<T>> {
  const ctx = createExecutionContext();
  const events: HyperdriveEvent[] = [];
  const outcome: Outcome<T> = { value: undefined, error: undefined, events };
  try {
    outcome.value = await withHyperdrive(env, ctx, (db: unknown) => fn(db as Db, events), {
      onEvent: (event: HyperdriveEvent) => events.push(event),
      ...options,
    } as never);
  } catch (error) {
    outcome.error = error;
  }
  await waitOnExecutionContext(ctx);
  return outcome;
}

/** Runs one statement through the ADMIN binding, in a scope of its own. */
export async function admin<Row = Record<string, unknown>>(sql: string): Promise<Row[]> {
  const { value, error } = await scoped(async (db) => (await db.queryAsync<Row[]>(sql))[0], { binding: "ADMIN" });
  if (error) throw error;
  return value as Row[];
}

/** Client connections to the test database other than ADMIN's own, as the server counts them. */
export async function connections(): Promise<number> {
  return Number((await admin<{ n: unknown }>(COUNT_CONNECTIONS_SQL))[0]?.n);
}

/** The connection's life as the scope reports it: connects and teardowns, in order. */
export const lifecycle = (events: readonly HyperdriveEvent[]) =>
  events.flatMap((event) =>
    event.type === "connect" ? ["connect"] : event.type === "teardown" ? [`teardown:${event.outcome}`] : [],
  );

/** The first error event in `events` once there is one (idle failures are reported, never thrown); bounded. */
export async function errorEvent(events: readonly HyperdriveEvent[]): Promise<HyperdriveEvent | undefined> {
  for (let i = 0; i < 1000; i++) {
    const found = events.find((event) => event.type === "error");
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return undefined;
}
