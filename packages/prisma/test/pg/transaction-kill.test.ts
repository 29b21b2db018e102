/**
 * A backend killed (`pg_terminate_backend`) while an interactive `$transaction` runs on it: the request gets a typed
 * error and nothing is left unhandled (the soak saw an unhandled HDK_CONNECTION_LOST from Prisma's COMMIT, issue 32).
 */
import { findHyperdriveError } from "@hyperdrive-kit/core";
import { withHyperdrive } from "@hyperdrive-kit/pg";
import { isRuntimeSocketLoss } from "@hyperdrive-kit/testing/runtime-socket-loss";
import { scopedRunner } from "@hyperdrive-kit/testing/suite";
import { describe, expect, it } from "vitest";
import { PrismaClient } from "../../.generated/pg/client.ts";
import { withPrisma } from "../../src/pg.ts";
import type { Prisma, Scoped } from "../cases.ts";

const scoped = scopedRunner((env, ctx, fn, options) =>
  withPrisma(env, ctx, fn as never, { ...(options as object | undefined), PrismaClient }),
) as Scoped;
const adminScoped = scopedRunner(withHyperdrive as never);

type Admin = { query(sql: string): Promise<{ rows: Array<Record<string, number>> }> };

/** Runs `sql` through the ADMIN binding, in a request of its own. */
async function admin(sql: string): Promise<Array<Record<string, number>>> {
  const { value, error } = await adminScoped(async (db: Admin) => (await db.query(sql)).rows, { binding: "ADMIN" });
  if (error) throw error;
  return value as Array<Record<string, number>>;
}

/** Waits (bounded) until `where` holds for the backend `pid` in pg_stat_activity. */
async function until(pid: number, where: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const [row] = await admin(`select count(*)::int as n from pg_stat_activity where pid = ${pid} and ${where}`);
    if (row?.n === 1) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`backend ${pid}: never ${where}`);
}

/** Kills the backend `pid` and waits (bounded) until it is gone. */
async function kill(pid: number): Promise<void> {
  await admin(`select pg_terminate_backend(${pid})`);
  for (let i = 0; i < 500; i++) {
    const [row] = await admin(`select count(*)::int as n from pg_stat_activity where pid = ${pid}`);
    if (row?.n === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`backend ${pid} still there after pg_terminate_backend`);
}

/** Runs `run` while counting the isolate's unhandled rejections (workerd's own on a lost socket apart). */
async function counting<T>(run: () => Promise<T>): Promise<{ result: T; unhandled: string[] }> {
  const unhandled: string[] = [];
  const record = (event: PromiseRejectionEvent) => {
    if (!isRuntimeSocketLoss(event.reason)) unhandled.push(String((event.reason as Error)?.stack ?? event.reason));
  };
  addEventListener("unhandledrejection", record);
  try {
    const result = await run();
    await new Promise((resolve) => setTimeout(resolve, 300)); // rejections left behind land a few ticks later
    return { result, unhandled };
  } finally {
    removeEventListener("unhandledrejection", record);
  }
}

/** The backend the transaction runs on. */
async function backendPid(tx: Prisma): Promise<number> {
  const [row] = await tx.$queryRawUnsafe<Array<{ pid: number }>>("select pg_backend_pid() as pid");
  if (row === undefined) throw new Error("pg_backend_pid() returned no row");
  return row.pid;
}
/**
 * The typed errors of a connection the server ended: lost under the query (57P01 mapped), or already broken when the
 * next statement is sent (pg read the server's goodbye while the transaction sat idle).
 */
const CONNECTION_GONE = ["HDK_CONNECTION_LOST", "HDK_PG_CLIENT_BROKEN"];

describe("an interactive $transaction whose backend is killed", () => {
  it("while its query runs: a typed error, nothing unhandled", async () => {
    const { result, unhandled } = await counting(() =>
      scoped(async (prisma) =>
        prisma.$transaction(async (tx: Prisma) => {
          const pid = await backendPid(tx);
          await tx.$executeRawUnsafe("select 1");
          const sleeping = tx.$queryRawUnsafe("select pg_sleep(5)::text as slept");
          const settled = Promise.resolve(sleeping).catch(() => {}); // awaited below
          await until(pid, "query like 'select pg_sleep(%' and state = 'active'");
          await kill(pid);
          await settled;
          await sleeping;
        }),
      ),
    );
    expect(CONNECTION_GONE).toContain(findHyperdriveError(result.error)?.code);
    expect(unhandled).toEqual([]);
  });

  it("between its last query and COMMIT: a typed error, nothing unhandled", async () => {
    const { result, unhandled } = await counting(() =>
      scoped(async (prisma) =>
        prisma.$transaction(async (tx: Prisma) => {
          const pid = await backendPid(tx);
          await tx.$executeRawUnsafe("select 1");
          await kill(pid); // idle in transaction: COMMIT is sent on a connection the server has ended
        }),
      ),
    );
    expect(CONNECTION_GONE).toContain(findHyperdriveError(result.error)?.code);
    expect(unhandled).toEqual([]);
  });
});
