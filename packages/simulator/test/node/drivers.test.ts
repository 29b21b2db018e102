/** The drivers from Node against the simulator and a real PostgreSQL: the protocol paths workerd tests reach less. */
import { type RunningServer, startPostgres } from "@hyperdrive-kit/testing/servers";
import pg from "pg";
import postgres from "postgres";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type QueryEvent, type Simulator, type SimulatorOptions, startSimulator } from "../../src/index.ts";

let server: RunningServer;
const simulators: Simulator[] = [];
let events: QueryEvent[] = [];

beforeAll(async () => {
  server = await startPostgres();
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query("create table if not exists kv (k text primary key, v text)");
  await admin.end();
});
afterAll(async () => {
  for (const simulator of simulators) await simulator.close();
  await server?.stop();
});
beforeEach(() => {
  events = [];
});

async function simulator(options: Partial<SimulatorOptions> = {}) {
  const started = await startSimulator({ origin: server.url, onQuery: (event) => events.push(event), ...options });
  simulators.push(started);
  return started;
}
const statuses = (text: string) =>
  events.filter((e) => e.text === text).map((e) => (e.note ? `${e.cache}:${e.note}` : e.cache));
const sqlFor = (sim: Simulator) =>
  postgres(sim.localConnectionString, { max: 1, fetch_types: false, prepare: true, onnotice: () => {} });

describe("Postgres.js", () => {
  it("caches parameterized reads it describes first (Parse, Describe, Flush, then Bind, Execute, Sync)", async () => {
    const sim = await simulator();
    const text = "select $1::text as echo";
    for (let i = 0; i < 2; i++) {
      // A new connection each time, as each Worker request has: the statement is described first every time.
      const sql = sqlFor(sim);
      expect(await sql.unsafe(text, ["a"], { prepare: true })).toEqual([{ echo: "a" }]);
      // The same connection again: Bind and Execute only, on a statement prepared on another origin connection.
      expect(await sql.unsafe(text, ["a"], { prepare: true })).toEqual([{ echo: "a" }]);
      expect(await sql.unsafe(text, ["b"], { prepare: true })).toEqual([{ echo: "b" }]);
      await sql.end();
    }
    expect(statuses(text)).toEqual(["miss", "hit", "miss", "hit", "hit", "hit"]);
  });

  it("pipelines queries on one connection and gets each its own answer", async () => {
    const sim = await simulator({ caching: false });
    const sql = sqlFor(sim);
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        sql.unsafe("select $1::int + 0 as n, pg_backend_pid() as pid", [i], { prepare: true }),
      ),
    );
    expect(answers.map((rows) => rows[0]?.n)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    await sql.end();
  });
});

describe("pg", () => {
  it("serves stale results during stale_while_revalidate and refreshes them in the background", async () => {
    const sim = await simulator({ caching: { maxAge: 1, staleWhileRevalidate: 5 } });
    const client = new pg.Client({ connectionString: sim.localConnectionString });
    await client.connect();
    const read = "select v from kv where k = $1";
    await client.query("insert into kv values ('swr', 'old') on conflict (k) do update set v = 'old'");
    expect((await client.query(read, ["swr"])).rows).toEqual([{ v: "old" }]);
    await client.query("update kv set v = 'new' where k = 'swr'");
    expect((await client.query(read, ["swr"])).rows).toEqual([{ v: "old" }]); // fresh cache, no invalidation
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect((await client.query(read, ["swr"])).rows).toEqual([{ v: "old" }]); // stale, revalidating
    for (let i = 0; i < 50 && (await client.query(read, ["swr"])).rows[0]?.v !== "new"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect((await client.query(read, ["swr"])).rows).toEqual([{ v: "new" }]);
    expect(statuses(read).slice(0, 3)).toEqual(["miss", "hit", "hit:stale"]);
    await client.end();
  });

  it("answers results over the size limit without caching them", async () => {
    const sim = await simulator({ caching: { maxResultBytes: 100 } });
    const client = new pg.Client({ connectionString: sim.localConnectionString });
    await client.connect();
    const text = "select repeat('x', 1000) as big";
    for (let i = 0; i < 2; i++) expect((await client.query(text)).rows[0].big).toHaveLength(1000);
    expect(statuses(text)).toEqual(["oversizedresult", "oversizedresult"]);
    await client.end();
  });

  it("keeps a transaction usable after a refused statement, and reports multi-statement queries", async () => {
    const sim = await simulator();
    const client = new pg.Client({ connectionString: sim.localConnectionString });
    await client.connect();
    await client.query("begin");
    await expect(client.query("select pg_advisory_xact_lock(1)")).rejects.toMatchObject({ code: "58000" });
    expect((await client.query("select 1 as one")).rows).toEqual([{ one: 1 }]);
    await client.query("commit");
    await client.query("select 1; select 2");
    expect(statuses("select 1; select 2")).toEqual(["multiplestatements"]);
    await client.end();
  });

  it("replaces origin connections the database ended, without the client noticing", async () => {
    const sim = await simulator({ caching: false });
    const client = new pg.Client({ connectionString: sim.localConnectionString });
    await client.connect();
    expect((await client.query("select $1::int as n", [1])).rows).toEqual([{ n: 1 }]);
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query(
      "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'hyperdrive-kit-simulator'",
    );
    await admin.end();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await client.query("select $1::int as n", [2])).rows).toEqual([{ n: 2 }]);
    await client.end();
  });

  it("passes the origin's own refusal through: a wrong origin password is 28P01 at the first statement", async () => {
    const origin = new URL(server.url);
    origin.password = "wrong";
    const sim = await simulator({ origin: origin.toString() });
    const client = new pg.Client({ connectionString: sim.localConnectionString });
    await client.connect(); // the binding's own login is the simulator's, as it is Hyperdrive's
    await expect(client.query("select 1")).rejects.toMatchObject({ code: "28P01" });
    await client.end();
  });

  it("closes origin connections idle for idleTimeoutMs (Hyperdrive: 10 minutes)", async () => {
    const sim = await simulator({ idleTimeoutMs: 300 });
    expect(sim.stats().total).toBe(1); // the one opened at start
    for (let i = 0; i < 50 && sim.stats().total > 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(sim.stats()).toMatchObject({ total: 0, idle: 0, waiting: 0 });
    // And opens a new one when it is needed again.
    const client = new pg.Client({ connectionString: sim.localConnectionString });
    await client.connect();
    expect((await client.query("select 1 as one")).rows).toEqual([{ one: 1 }]);
    await client.end();
  });

  it("refuses a wrong binding password with PostgreSQL's own error", async () => {
    const sim = await simulator();
    const url = new URL(sim.localConnectionString);
    url.password = "wrong";
    const client = new pg.Client({ connectionString: url.toString() });
    client.on("error", () => {});
    await expect(client.connect()).rejects.toMatchObject({ code: "28P01" });
  });
});
