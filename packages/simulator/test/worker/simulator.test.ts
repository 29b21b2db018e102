/**
 * The four adapters inside workerd, through the simulator: what fails in production fails the same way here. Every
 * statement's cache status is read back from the simulators (the global setup's control server).
 */
import { exports } from "cloudflare:workers";
import { beforeEach, describe, expect, inject, it } from "vitest";
import { HYPERDRIVE_PREPARE_ERROR, MYSQL_REFUSAL_MESSAGES } from "../../src/mysql/refusals.ts";
import { POSTGRES_REFUSAL_MESSAGES } from "../../src/postgres/refusals.ts";
import { ORIGIN_REFUSED, POOL_EXHAUSTED } from "../../src/texts.ts";
import { type Configuration, type Engine, LATENCY_MS, type SimulatorName, SMALL, simulatorName } from "./config.ts";
import type { Driver, Outcome, Script, Step } from "./worker.ts";

const worker = (exports as unknown as { default: Fetcher }).default;

async function run(script: Script): Promise<Outcome> {
  const response = await worker.fetch("http://test/", { method: "POST", body: JSON.stringify(script) });
  return (await response.json()) as Outcome;
}

type Seen = Array<{ text: string; cache: string }>;
const statusesOf = (seen: Seen, text: string) => seen.filter((e) => e.text === text).map((e) => e.cache);

const control = inject("simulatorControl");
let seen = 0;
/** The statements one simulator ran since the last call, with their cache status. */
async function statuses(simulator: SimulatorName): Promise<Seen> {
  const { next, events } = (await (await fetch(`${control}/events?since=${seen}`)).json()) as {
    next: number;
    events: Array<{ simulator: string; text: string; cache: string }>;
  };
  seen = next;
  return events.filter((e) => e.simulator === simulator);
}

beforeEach(async () => {
  await fetch(`${control}/clear-cache`, { method: "POST" });
  await statuses("SIM");
});

interface Case {
  driver: Driver;
  engine: Engine;
  /** A placeholder for parameter `n` (1-based). */
  param(n: number): string;
  /** How this driver sends a parameterized statement: MySQL drivers interpolate it into the text. */
  sentText(sql: string, params: unknown[]): string;
}
const postgresCase = (driver: Driver): Case => ({
  driver,
  engine: "postgres",
  param: (n) => `$${n}`,
  sentText: (sql) => sql,
});
const mysqlCase = (driver: Driver): Case => ({
  driver,
  engine: "mysql",
  param: () => "?",
  sentText: (sql, params) => params.reduce<string>((text, value) => text.replace("?", String(value)), sql),
});

describe.each<Case>([
  postgresCase("pg"),
  postgresCase("postgres"),
  mysqlCase("mysql2"),
  mysqlCase("mysql"),
  // The integrations, on the same adapters: what the ORM sends goes through the same simulator.
  postgresCase("drizzle-postgres"),
  mysqlCase("drizzle-mysql2"),
])("$driver through the simulator", ({ driver, engine, param, sentText }) => {
  const table = `sim_${driver.replace("-", "_")}`;
  const name = (configuration: Configuration) => simulatorName(engine, configuration);
  const admin = engine === "mysql" ? "MY_ADMIN" : "ADMIN";

  async function rows(configuration: Configuration | "ADMIN", steps: Step[], transaction = false) {
    const binding = configuration === "ADMIN" ? admin : name(configuration);
    const outcome = await run({ driver, binding, steps, transaction });
    if ("error" in outcome) throw new Error(`${driver} on ${binding}: ${JSON.stringify(outcome.error)}`);
    return outcome.rows;
  }
  async function failure(configuration: Configuration, steps: Step[], transaction = false) {
    const outcome = await run({ driver, binding: name(configuration), steps, transaction });
    if (!("error" in outcome)) throw new Error(`expected an error, got ${JSON.stringify(outcome.rows)}`);
    return outcome.error;
  }

  it("serves a read cached before a write, stale, within max_age; a cache-disabled binding reads fresh", async () => {
    await rows("ADMIN", [
      { sql: `create table if not exists ${table} (id int primary key, v text)` },
      { sql: `delete from ${table}` },
      { sql: `insert into ${table} values (1, 'before')` },
    ]);
    const read = { sql: `select v from ${table} where id = ${param(1)}`, params: [1] };
    expect(await rows("SIM", [read])).toEqual([[{ v: "before" }]]);
    await rows("SIM", [{ sql: `update ${table} set v = 'after' where id = ${param(1)}`, params: [1] }]);
    // A new request, a new connection to the simulator: the cached answer all the same.
    expect(await rows("SIM", [read])).toEqual([[{ v: "before" }]]);
    expect(statusesOf(await statuses(name("SIM")), sentText(read.sql, read.params))).toEqual(["miss", "hit"]);
    expect(await rows("SIM_NOCACHE", [read])).toEqual([[{ v: "after" }]]);
    expect(statusesOf(await statuses(name("SIM_NOCACHE")), sentText(read.sql, read.params))).toEqual(["disabled"]);
  });

  it("does not cache volatile functions (named in a comment too), writes, or reads in a transaction", async () => {
    const volatile = { sql: "select now() as t" };
    const commented = { sql: `select 1 as one /* ${engine === "mysql" ? "rand()" : "random()"} */` };
    const plain = { sql: "select 2 as two" };
    const write = { sql: `update ${table} set v = v where id = 1` };
    await rows("SIM", [volatile, volatile, commented, plain, plain, write]);
    await rows("SIM", [plain], true);
    const all = await statuses(name("SIM"));
    expect(statusesOf(all, volatile.sql)).toEqual(["volatile", "volatile"]);
    expect(statusesOf(all, commented.sql)).toEqual(["volatile"]);
    expect(statusesOf(all, plain.sql)).toEqual(["miss", "hit", "transaction"]);
    expect(statusesOf(all, write.sql)).toEqual(["uncacheable"]);
  });

  it("resets the origin connection between transactions: SET does not survive", async () => {
    const [set, show, value] =
      engine === "mysql"
        ? [
            { sql: "set session wait_timeout = 4321" },
            { sql: "select @@session.wait_timeout as timeout" },
            (rows: Array<Array<Record<string, unknown>>>) => String(rows.at(-1)?.[0]?.timeout),
          ]
        : [
            { sql: "set statement_timeout = '4321ms'" },
            { sql: "select current_setting('statement_timeout') as timeout" },
            (rows: Array<Array<Record<string, unknown>>>) => String(rows.at(-1)?.[0]?.timeout),
          ];
    expect(value(await rows("SIM", [set, show], true))).toMatch(/^4321/);
    expect(value(await rows("SIM", [show], true))).not.toMatch(/^4321/);
    // Outside a transaction each statement is a transaction of its own.
    expect(value(await rows("SIM", [set, show]))).not.toMatch(/^4321/);
  });

  it("answers parallel long transactions that exhaust the pool with 58000, mapped to HDK_HYPERDRIVE_POOL_EXHAUSTED", async () => {
    // Long enough that the pool stays full through the wait below, however slow the machine.
    const long = [{ sql: engine === "mysql" ? "select sleep(4)" : "select pg_sleep(4)" }];
    const holders = Array.from({ length: SMALL.poolSize }, () =>
      run({ driver, binding: name("SIM_SMALL"), steps: long, transaction: true }),
    );
    // Until both hold their origin connection (bounded: without a pool they never would).
    for (let tries = 0; ; tries++) {
      const stats = (await (await fetch(`${control}/stats`)).json()) as Record<string, { total: number; idle: number }>;
      const small = stats[name("SIM_SMALL")];
      if (small?.total === SMALL.poolSize && small.idle === 0) break;
      if (tries > 200) throw new Error(`the pool never filled: ${JSON.stringify(small)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const started = Date.now();
    const error = await failure("SIM_SMALL", [{ sql: "select 1 as one" }]);
    // `mysql` puts the error code in front of the message.
    expect(error).toMatchObject({
      code: "HDK_HYPERDRIVE_POOL_EXHAUSTED",
      message: expect.stringContaining(POOL_EXHAUSTED),
    });
    if (engine === "postgres") expect(error.sqlstate).toBe("58000");
    expect(Date.now() - started).toBeGreaterThanOrEqual(SMALL.acquireTimeoutMs - 50);
    for (const outcome of await Promise.all(holders)) expect(outcome).not.toHaveProperty("error");
    // The pool recovers.
    expect(await rows("SIM_SMALL", [{ sql: "select 1 as one" }])).toEqual([[{ one: 1 }]]);
  });

  it("answers an origin that refuses connections with Hyperdrive's connection_refused", async () => {
    const error = await failure("SIM_DOWN", [{ sql: "select 1 as one" }]);
    expect(error).toMatchObject({
      code: "HDK_HYPERDRIVE_ORIGIN_REFUSED",
      message: expect.stringContaining(ORIGIN_REFUSED),
    });
  });

  it("adds the configured latency to each round trip to the origin", async () => {
    const step = { sql: "select 1 as one" };
    await rows("SIM_SLOW", [step]); // connection set-up out of the measurement
    // Ten statements locally take a few milliseconds: with the latency, at least ten times it.
    const started = Date.now();
    await rows(
      "SIM_SLOW",
      Array.from({ length: 10 }, () => step),
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(10 * LATENCY_MS);
  });

  const refused: Array<[string, Step, string]> =
    engine === "mysql"
      ? [
          ["USE", { sql: "use hdk" }, MYSQL_REFUSAL_MESSAGES.use],
          ["a multi-statement query", { sql: "select 1; select 2" }, MYSQL_REFUSAL_MESSAGES["multiple-statements"]],
          ["SQL-level PREPARE", { sql: "prepare s from 'select 1'" }, MYSQL_REFUSAL_MESSAGES.prepare],
          ["SQL-level EXECUTE", { sql: "execute s" }, MYSQL_REFUSAL_MESSAGES.prepare],
          ["DEALLOCATE", { sql: "deallocate prepare s" }, MYSQL_REFUSAL_MESSAGES.prepare],
        ]
      : [
          ["PREPARE", { sql: "prepare p as select 1" }, POSTGRES_REFUSAL_MESSAGES.prepare],
          ["EXECUTE", { sql: "execute p" }, POSTGRES_REFUSAL_MESSAGES.prepare],
          ["DEALLOCATE", { sql: "deallocate all" }, POSTGRES_REFUSAL_MESSAGES.prepare],
          ["DISCARD", { sql: "discard all" }, POSTGRES_REFUSAL_MESSAGES.discard],
          ["an advisory lock", { sql: "select pg_advisory_lock(42)" }, POSTGRES_REFUSAL_MESSAGES["advisory-lock"]],
          [
            "a transaction advisory lock, with a parameter",
            { sql: "select pg_try_advisory_xact_lock($1)", params: [42] },
            POSTGRES_REFUSAL_MESSAGES["advisory-lock"],
          ],
          ["LISTEN", { sql: "listen jobs" }, POSTGRES_REFUSAL_MESSAGES["listen-notify"]],
          ["NOTIFY", { sql: "notify jobs, 'x'" }, POSTGRES_REFUSAL_MESSAGES["listen-notify"]],
          [
            "pg_notify()",
            { sql: "select pg_notify('jobs', $1)", params: ["x"] },
            POSTGRES_REFUSAL_MESSAGES["listen-notify"],
          ],
        ];
  it.each(refused)("refuses %s", async (_name, step, message) => {
    const error = await failure("SIM", [step]);
    // PostgreSQL: SQLSTATE 58000, Hyperdrive's own error, not worth retrying. MySQL: 1105 ER_UNKNOWN_ERROR, which the library passes on
    // as a database error (only Hyperdrive's documented MySQL texts have codes of their own).
    expect(error).toMatchObject(
      engine === "postgres"
        ? { code: "HDK_HYPERDRIVE_UNSUPPORTED", retryable: false, sqlstate: "58000", message }
        : { sqlstate: "ER_UNKNOWN_ERROR", message: expect.stringContaining(message) },
    );
    // The connection is still good, and the same words in a literal or a comment refuse nothing.
    expect(await rows("SIM", [{ sql: "select 'listen; use x' as words -- pg_advisory_lock" }])).toEqual([
      [{ words: "listen; use x" }],
    ]);
  });

  if (engine === "postgres") {
    it("keeps protocol-level prepared statements working across pooled origin connections", async () => {
      // pg_backend_pid() is STABLE, so never cached: each answer comes from whichever origin connection ran it.
      const steps: Step[] = Array.from({ length: 12 }, (_, i) => ({
        sql: "select pg_backend_pid() as pid, $1::int * 2 as doubled",
        params: [i],
        ...(driver === "pg" ? { name: "doubled" } : {}),
      }));
      // The pool opens origin connections only when statements overlap: hold two at once so it has two to hand
      // out (oldest idle first), however the earlier tests left it.
      const hold = [{ sql: "select pg_sleep(0.3)" }];
      for (let tries = 0; ; tries++) {
        await Promise.all([0, 1].map(() => run({ driver, binding: name("SIM"), steps: hold, transaction: true })));
        const stats = (await (await fetch(`${control}/stats`)).json()) as Record<string, { total: number }>;
        if ((stats[name("SIM")]?.total ?? 0) >= 2) break;
        if (tries > 20) throw new Error(`the pool never opened a second connection: ${JSON.stringify(stats)}`);
      }
      const answers = (await rows("SIM", steps)).map((r) => r[0] as { pid: number; doubled: number });
      expect(answers.map((a) => a.doubled)).toEqual(steps.map((_, i) => i * 2));
      expect(new Set(answers.map((a) => a.pid)).size).toBeGreaterThan(1);
      // And inside transactions, each on its own origin connection.
      for (let i = 0; i < 3; i++) {
        expect(await rows("SIM", steps.slice(0, 2), true)).toEqual([
          [expect.objectContaining({ doubled: 0 })],
          [expect.objectContaining({ doubled: 2 })],
        ]);
      }
    });
  }
});

describe("mysql2's prepared statements", () => {
  it("raw execute() gets Hyperdrive's COM_STMT_PREPARE error; the handle's execute() works", async () => {
    const outcome = await run({ driver: "mysql2-raw-execute", binding: "MY_SIM", steps: [] });
    expect(outcome).toEqual({ rows: [[{ refused: HYPERDRIVE_PREPARE_ERROR }], [{ v: 1 }]] });
  });
});
