/**
 * The adapters inside workerd, through the simulator: what fails in production fails the same way here. Every
 * statement's cache status is read back from the simulators (the global setup's control server).
 */
import { exports } from "cloudflare:workers";
import { beforeEach, describe, expect, inject, it } from "vitest";
import { POSTGRES_REFUSAL_MESSAGES } from "../../src/postgres/refusals.ts";
import { ORIGIN_REFUSED, POOL_EXHAUSTED } from "../../src/texts.ts";
import { LATENCY_MS, type SimulatorName, SMALL } from "./config.ts";
import type { Driver, Outcome, Script, Step } from "./worker.ts";

const worker = (exports as unknown as { default: Fetcher }).default;

async function run(script: Script): Promise<Outcome> {
  const response = await worker.fetch("http://test/", { method: "POST", body: JSON.stringify(script) });
  return (await response.json()) as Outcome;
}

async function rows(driver: Driver, binding: SimulatorName | "ADMIN", steps: Step[], transaction = false) {
  const outcome = await run({ driver, binding, steps, transaction });
  if ("error" in outcome) throw new Error(`${driver} on ${binding}: ${JSON.stringify(outcome.error)}`);
  return outcome.rows;
}

async function failure(driver: Driver, binding: SimulatorName, steps: Step[], transaction = false) {
  const outcome = await run({ driver, binding, steps, transaction });
  if (!("error" in outcome)) throw new Error(`expected an error, got ${JSON.stringify(outcome.rows)}`);
  return outcome.error;
}

const control = inject("simulatorControl");
let seen = 0;
type Seen = Array<{ text: string; cache: string }>;
const statusesOf = (seen: Seen, text: string) => seen.filter((e) => e.text === text).map((e) => e.cache);

/** The statements one simulator ran since the last call, with their cache status. */
async function statuses(simulator: SimulatorName): Promise<Seen>;
async function statuses(simulator: SimulatorName, text: string): Promise<string[]>;
async function statuses(simulator: SimulatorName, text?: string): Promise<Seen | string[]> {
  const { next, events } = (await (await fetch(`${control}/events?since=${seen}`)).json()) as {
    next: number;
    events: Array<{ simulator: string; text: string; cache: string; refused?: string; note?: string }>;
  };
  seen = next;
  const mine = events.filter((e) => e.simulator === simulator);
  return text === undefined ? mine : statusesOf(mine, text);
}

beforeEach(async () => {
  await fetch(`${control}/clear-cache`, { method: "POST" });
  await statuses("SIM");
});

describe.each<Driver>(["pg", "postgres"])("%s through the simulator", (driver) => {
  const table = `sim_${driver}`;

  it("serves a read cached before a write, stale, within max_age; a cache-disabled binding reads fresh", async () => {
    await rows(driver, "ADMIN", [
      { sql: `create table if not exists ${table} (id int primary key, v text)` },
      { sql: `insert into ${table} values (1, 'before') on conflict (id) do update set v = 'before'` },
    ]);
    const read = { sql: `select v from ${table} where id = $1`, params: [1] };
    expect(await rows(driver, "SIM", [read])).toEqual([[{ v: "before" }]]);
    await rows(driver, "SIM", [{ sql: `update ${table} set v = 'after' where id = $1`, params: [1] }]);
    // A new request, a new connection to the simulator: the cached answer all the same.
    expect(await rows(driver, "SIM", [read])).toEqual([[{ v: "before" }]]);
    expect(await statuses("SIM", read.sql)).toEqual(["miss", "hit"]);
    expect(await rows(driver, "SIM_NOCACHE", [read])).toEqual([[{ v: "after" }]]);
    expect(await statuses("SIM_NOCACHE", read.sql)).toEqual(["disabled"]);
  });

  it("does not cache volatile functions (named in a comment too), writes, or reads in a transaction", async () => {
    const volatile = { sql: "select now() as t" };
    const commented = { sql: "select 1 as one /* random() */" };
    const plain = { sql: "select 2 as two" };
    await rows(driver, "SIM", [volatile, volatile, commented, plain, plain]);
    await rows(driver, "SIM", [plain], true);
    const write = { sql: `update ${table} set v = v where id = $1`, params: [1] };
    await rows(driver, "SIM", [write]);
    const all = await statuses("SIM");
    expect(await statusesOf(all, volatile.sql)).toEqual(["volatile", "volatile"]);
    expect(await statusesOf(all, commented.sql)).toEqual(["volatile"]);
    expect(await statusesOf(all, plain.sql)).toEqual(["miss", "hit", "transaction"]);
    expect(await statusesOf(all, write.sql)).toEqual(["uncacheable"]);
  });

  it("resets the origin connection between transactions: SET does not survive", async () => {
    const set = { sql: "set statement_timeout = '4321ms'" };
    const show = { sql: "select current_setting('statement_timeout') as timeout" };
    expect(await rows(driver, "SIM", [set, show], true)).toEqual([[], [{ timeout: "4321ms" }]]);
    expect(await rows(driver, "SIM", [show], true)).toEqual([[{ timeout: "0" }]]);
    // Outside a transaction each statement is a transaction of its own.
    expect(await rows(driver, "SIM", [set, show])).toEqual([[], [{ timeout: "0" }]]);
  });

  it("keeps protocol-level prepared statements working across pooled origin connections", async () => {
    // pg_backend_pid() is STABLE, so never cached: each answer comes from whichever origin connection ran it.
    const steps: Step[] = Array.from({ length: 12 }, (_, i) => ({
      sql: "select pg_backend_pid() as pid, $1::int * 2 as doubled",
      params: [i],
      ...(driver === "pg" ? { name: "doubled" } : {}),
    }));
    const answers = (await rows(driver, "SIM", steps)).map((r) => r[0] as { pid: number; doubled: number });
    expect(answers.map((a) => a.doubled)).toEqual(steps.map((_, i) => i * 2));
    expect(new Set(answers.map((a) => a.pid)).size).toBeGreaterThan(1);
    // And inside transactions, each on its own origin connection.
    for (let i = 0; i < 3; i++) {
      expect(await rows(driver, "SIM", steps.slice(0, 2), true)).toEqual([
        [expect.objectContaining({ doubled: 0 })],
        [expect.objectContaining({ doubled: 2 })],
      ]);
    }
  });

  it("answers parallel long transactions that exhaust the pool with 58000, mapped to HDK_HYPERDRIVE_POOL_EXHAUSTED", async () => {
    const long = [{ sql: "select pg_sleep(3)" }];
    const holders = Array.from({ length: SMALL.poolSize }, () =>
      run({ driver, binding: "SIM_SMALL", steps: long, transaction: true }),
    );
    // Until both hold their origin connection (bounded: without a pool they never would).
    for (let tries = 0; ; tries++) {
      const stats = (await (await fetch(`${control}/stats`)).json()) as Record<string, { total: number; idle: number }>;
      if (stats.SIM_SMALL?.total === SMALL.poolSize && stats.SIM_SMALL.idle === 0) break;
      if (tries > 200) throw new Error(`the pool never filled: ${JSON.stringify(stats.SIM_SMALL)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const started = Date.now();
    const error = await failure(driver, "SIM_SMALL", [{ sql: "select 1 as one" }]);
    expect(error).toMatchObject({ code: "HDK_HYPERDRIVE_POOL_EXHAUSTED", sqlstate: "58000", message: POOL_EXHAUSTED });
    expect(Date.now() - started).toBeGreaterThanOrEqual(SMALL.acquireTimeoutMs - 50);
    for (const outcome of await Promise.all(holders)) expect(outcome).not.toHaveProperty("error");
    // The pool recovers.
    expect(await rows(driver, "SIM_SMALL", [{ sql: "select 1 as one" }])).toEqual([[{ one: 1 }]]);
  });

  it("answers an origin that refuses connections with Hyperdrive's connection_refused", async () => {
    const error = await failure(driver, "SIM_DOWN", [{ sql: "select 1 as one" }]);
    expect(error).toMatchObject({ code: "HDK_HYPERDRIVE_ORIGIN_REFUSED", sqlstate: "58000", message: ORIGIN_REFUSED });
  });

  const refused: Array<[string, Step, keyof typeof POSTGRES_REFUSAL_MESSAGES]> = [
    ["PREPARE", { sql: "prepare p as select 1" }, "prepare"],
    ["EXECUTE", { sql: "execute p" }, "prepare"],
    ["DEALLOCATE", { sql: "deallocate all" }, "prepare"],
    ["DISCARD", { sql: "discard all" }, "discard"],
    ["an advisory lock", { sql: "select pg_advisory_lock(42)" }, "advisory-lock"],
    [
      "a transaction advisory lock, with a parameter",
      { sql: "select pg_try_advisory_xact_lock($1)", params: [42] },
      "advisory-lock",
    ],
    ["LISTEN", { sql: "listen jobs" }, "listen-notify"],
    ["NOTIFY", { sql: "notify jobs, 'x'" }, "listen-notify"],
    ["pg_notify()", { sql: "select pg_notify('jobs', $1)", params: ["x"] }, "listen-notify"],
  ];
  it.each(refused)("refuses %s", async (_name, step, refusal) => {
    const error = await failure(driver, "SIM", [step]);
    expect(error).toMatchObject({
      code: "HDK_HYPERDRIVE_ERROR",
      sqlstate: "58000",
      message: POSTGRES_REFUSAL_MESSAGES[refusal],
    });
    // The connection is still good for the next statement, and the words in a literal or comment refuse nothing.
    expect(await rows(driver, "SIM", [{ sql: "select 'listen, notify' as words -- pg_advisory_lock" }])).toEqual([
      [{ words: "listen, notify" }],
    ]);
  });

  it("adds the configured latency to each round trip to the origin", async () => {
    const step = { sql: "select 1 as one" };
    await rows(driver, "SIM_SLOW", [step]); // connection set-up out of the measurement
    // Ten statements locally take a few milliseconds: with the latency, at least ten times it.
    const started = Date.now();
    await rows(
      driver,
      "SIM_SLOW",
      Array.from({ length: 10 }, () => step),
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(10 * LATENCY_MS);
  });
});
