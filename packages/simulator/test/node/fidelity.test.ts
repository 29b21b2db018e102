/**
 * The fidelity suite, PostgreSQL: each test runs the client code a Worker runs against the simulator and names the
 * production behaviour it reproduces and its source ([D] cloudflare-docs `src/content/docs/hyperdrive/`, [P] its
 * partials; see the README's behaviour table). Protocol exits no driver takes on purpose are written as raw messages.
 */
import { connect as tcp } from "node:net";
import { type RunningServer, startPostgres } from "@hyperdrive-kit/testing/servers";
import pg from "pg";
import { serialize } from "pg-protocol";
import postgres from "postgres";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type QueryEvent, type Simulator, type SimulatorOptions, startSimulator } from "../../src/index.ts";
import { UNNAMED_NOTE } from "../../src/postgres/session.ts";

let server: RunningServer;
let admin: pg.Client;
const simulators: Simulator[] = [];
let events: QueryEvent[] = [];
let lines: string[] = [];

beforeAll(async () => {
  server = await startPostgres();
  admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query("create table if not exists fidelity (id serial primary key, note text)");
  await admin.query("create table if not exists touched (at timestamptz default now())");
});
afterAll(async () => {
  for (const simulator of simulators) await simulator.close();
  await admin?.end();
  await server?.stop();
});
beforeEach(async () => {
  events = [];
  lines = [];
  await admin.query("truncate fidelity, touched");
});

async function simulator(options: Partial<SimulatorOptions> = {}) {
  const started = await startSimulator({
    origin: server.url,
    onQuery: (event) => events.push(event),
    log: (line) => lines.push(line),
    ...options,
  });
  simulators.push(started);
  return started;
}

async function pgClient(sim: Simulator, overrides: pg.ClientConfig = {}) {
  const client = new pg.Client({ connectionString: sim.localConnectionString, ...overrides });
  client.on("error", () => {});
  await client.connect();
  return client;
}

const rows = async (sql: string) => (await admin.query(sql)).rows;
const statuses = (text: string) => events.filter((e) => e.text === text).map((e) => e.cache);

/**
 * A logged-in client whose socket the test drives itself: writes raw frontend messages, waits for a backend message
 * type, and leaves however the case says.
 */
async function rawSession(sim: Simulator) {
  const client = await pgClient(sim);
  const stream = (client as unknown as { connection: { stream: NodeJS.ReadWriteStream & { destroy(): void } } })
    .connection.stream;
  stream.removeAllListeners("data");
  let received = Buffer.alloc(0);
  const waiters: Array<() => void> = [];
  stream.on("data", (chunk: Buffer) => {
    received = Buffer.concat([received, chunk]);
    for (const wake of waiters.splice(0)) wake();
  });
  const types = () => {
    const found: string[] = [];
    for (let offset = 0; offset + 5 <= received.length; offset += 1 + received.readUInt32BE(offset + 1)) {
      found.push(String.fromCharCode(received[offset] as number));
    }
    return found;
  };
  return {
    write: (...messages: Buffer[]) => stream.write(Buffer.concat(messages)),
    /** Resolves once a backend message of this type (e.g. "E" error, "C" command complete) arrived. */
    async until(type: string) {
      for (let i = 0; i < 200 && !types().includes(type); i++) {
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 100);
        });
      }
      expect(types()).toContain(type);
    },
    destroy: () => stream.destroy(),
  };
}

/** The pool is not left with a connection nobody can use: a statement runs within the acquire wait. */
async function poolServes(sim: Simulator) {
  const client = await pgClient(sim);
  try {
    expect((await client.query("select 41 + 1 as answer")).rows).toEqual([{ answer: 42 }]);
  } finally {
    await client.end();
  }
}

describe("the statement limit ([D] platform/limits.mdx: maximum query duration 60 seconds, terminated past it)", () => {
  it("terminates a statement past the limit with 57014, and the connection goes on", async () => {
    const sim = await simulator({ statementTimeoutMs: 1_000, poolSize: 1 });
    const client = await pgClient(sim);
    await expect(client.query("select pg_sleep(30)")).rejects.toMatchObject({
      code: "57014",
      message: "canceling statement due to statement timeout",
    });
    expect((await client.query("select 1 as one")).rows).toEqual([{ one: 1 }]);
    // Inside a transaction the origin fails the transaction, as its own statement_timeout does.
    await client.query("begin");
    await expect(client.query("select pg_sleep(30)")).rejects.toMatchObject({ code: "57014" });
    await expect(client.query("select 1")).rejects.toMatchObject({ code: "25P02" });
    await client.query("rollback");
    // A client's SET does not outlive its transaction: the limit is back for the next one.
    await client.query("set statement_timeout = 0");
    await expect(client.query("select pg_sleep(30)")).rejects.toMatchObject({ code: "57014" });
    await client.end();
  });

  it("terminates Postgres.js's prepared statements too", async () => {
    const sim = await simulator({ statementTimeoutMs: 1_000 });
    const sql = postgres(sim.localConnectionString, { max: 1, prepare: true, fetch_types: false });
    await expect(sql`select pg_sleep(${30})`).rejects.toMatchObject({ code: "57014" });
    expect(await sql`select ${1}::int as one`).toEqual([{ one: 1 }]);
    await sql.end();
  });
});

describe("every way a client leaves returns the origin connection clean or closes it ([P] pooling-mode.mdx: transaction mode)", () => {
  it("a statement that fails, then a disconnect before Sync, five times: the pool still serves", async () => {
    const sim = await simulator({ poolSize: 1, acquireTimeoutMs: 3_000 });
    for (let i = 0; i < 5; i++) {
      const session = await rawSession(sim);
      session.write(
        serialize.parse({ text: "select 1/0" }),
        serialize.bind({}),
        serialize.execute({}),
        serialize.flush(),
      );
      await session.until("E");
      session.destroy();
    }
    await poolServes(sim);
  });

  it("an INSERT sent with Parse/Bind/Execute and no Sync, then a disconnect, is not committed (PostgreSQL commits 0)", async () => {
    const sim = await simulator({ poolSize: 1, acquireTimeoutMs: 3_000 });
    const session = await rawSession(sim);
    session.write(
      serialize.parse({ text: "insert into fidelity (note) values ('abandoned')" }),
      serialize.bind({}),
      serialize.execute({}),
      serialize.flush(),
    );
    await session.until("C"); // CommandComplete: the row is written, not yet committed
    session.destroy();
    await poolServes(sim);
    expect(await rows("select note from fidelity")).toEqual([]);
  });

  it("mid-transaction: rolled back, the pool serves", async () => {
    const sim = await simulator({ poolSize: 1, acquireTimeoutMs: 3_000 });
    const client = await pgClient(sim);
    await client.query("begin");
    await client.query("insert into fidelity (note) values ('in a transaction')");
    (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    await poolServes(sim);
    expect(await rows("select note from fidelity")).toEqual([]);
  });

  it("after an error inside a transaction: the pool serves", async () => {
    const sim = await simulator({ poolSize: 1, acquireTimeoutMs: 3_000 });
    const session = await rawSession(sim);
    session.write(serialize.query("begin; select 1/0"));
    await session.until("Z");
    session.destroy();
    await poolServes(sim);
  });

  it("mid-COPY: nothing copied, the pool serves", async () => {
    const sim = await simulator({ poolSize: 1, acquireTimeoutMs: 3_000 });
    const session = await rawSession(sim);
    session.write(serialize.query("copy fidelity (note) from stdin"));
    await session.until("G"); // CopyInResponse
    session.write(serialize.copyData(Buffer.from("copied\n")));
    session.destroy();
    await poolServes(sim);
    expect(await rows("select note from fidelity")).toEqual([]);
  });

  it("Terminate mid-query, and a socket destroyed mid-query: the statement is cancelled, the pool serves", async () => {
    const sim = await simulator({ poolSize: 1, acquireTimeoutMs: 3_000 });
    for (const leave of ["terminate", "destroy"] as const) {
      const session = await rawSession(sim);
      session.write(serialize.query(`select pg_sleep(60) /* ${leave} */`));
      await new Promise((resolve) => setTimeout(resolve, 200));
      if (leave === "terminate") session.write(serialize.end());
      else session.destroy();
      await poolServes(sim);
      // Cancelled on the origin, not left running there.
      for (let i = 0; i < 50; i++) {
        const running = await rows(
          `select 1 from pg_stat_activity where query like '%pg_sleep(60) /* ${leave}%' and pid <> pg_backend_pid()`,
        );
        if (running.length === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(
        await rows(
          `select 1 from pg_stat_activity where state = 'active' and query like '%pg_sleep(60) /* ${leave}%' and pid <> pg_backend_pid()`,
        ),
      ).toEqual([]);
    }
  });

  it("mid extended-query (Parse, Bind, no Flush or Sync): the pool serves", async () => {
    const sim = await simulator({ poolSize: 1, acquireTimeoutMs: 3_000 });
    const session = await rawSession(sim);
    session.write(serialize.parse({ text: "insert into fidelity (note) values ('never')" }), serialize.bind({}));
    await new Promise((resolve) => setTimeout(resolve, 100));
    session.destroy();
    await poolServes(sim);
    expect(await rows("select note from fidelity")).toEqual([]);
  });
});

describe("cache correctness follows the database ([D] concepts/query-caching.mdx: STABLE and VOLATILE functions are not cached)", () => {
  it("a VOLATILE function created after the simulator started is not cached: its writes happen", async () => {
    const sim = await simulator();
    await admin.query(
      "create or replace function touch() returns int language sql volatile as 'insert into touched default values returning 1'",
    );
    const client = await pgClient(sim);
    for (let i = 0; i < 3; i++) expect((await client.query("select touch() as t")).rows).toEqual([{ t: 1 }]);
    expect(await rows("select count(*)::int as n from touched")).toEqual([{ n: 3 }]);
    expect(statuses("select touch() as t")).toEqual(["volatile", "volatile", "volatile"]);
    await client.end();
  });

  it("a VOLATILE function with a quoted, schema-qualified name created after start is not cached either", async () => {
    const sim = await simulator();
    await admin.query(
      "create schema if not exists app; create or replace function app.\"Touch\"() returns int language sql volatile as 'insert into touched default values returning 1'",
    );
    const before = (await rows("select count(*)::int as n from touched"))[0]?.n as number;
    const client = await pgClient(sim);
    for (let i = 0; i < 3; i++) await client.query('select app."Touch"() as t');
    expect(await rows("select count(*)::int as n from touched")).toEqual([{ n: before + 3 }]);
    expect(statuses('select app."Touch"() as t')).toEqual(["volatile", "volatile", "volatile"]);
    await client.end();
  });

  it("after DDL through the simulator, a function replaced as VOLATILE is looked up again", async () => {
    const sim = await simulator();
    const client = await pgClient(sim);
    await client.query("create or replace function answer() returns int language sql immutable as 'select 42'");
    await client.query("select answer() as a");
    await client.query("select answer() as a");
    await client.query("create or replace function answer() returns int language sql volatile as 'select 43'");
    sim.clearCache();
    await client.query("select answer() as a");
    await client.query("select answer() as a");
    expect(statuses("select answer() as a")).toEqual(["miss", "hit", "volatile", "volatile"]);
    await client.end();
  });
});

describe("what production does not cache is not cached ([P] node-postgres-recommendation.mdx: Postgres.js needs prepare: true)", () => {
  it("Postgres.js prepare: false and sql.unsafe(): not cached, with a warning in the log line", async () => {
    const sim = await simulator();
    const sql = postgres(sim.localConnectionString, { max: 1, prepare: false, fetch_types: false });
    for (let i = 0; i < 2; i++) expect(await sql`select ${1}::int as n`).toEqual([{ n: 1 }]);
    for (let i = 0; i < 2; i++) expect(await sql.unsafe("select $1::int + 1 as n", [1])).toEqual([{ n: 2 }]);
    await sql.end();
    expect(statuses("select $1::int as n")).toEqual(["uncacheable", "uncacheable"]);
    expect(statuses("select $1::int + 1 as n")).toEqual(["uncacheable", "uncacheable"]);
    expect(lines.filter((line) => line.includes(UNNAMED_NOTE))).toHaveLength(4);
  });

  it("pg's parameterized queries (unnamed, not described) stay cached", async () => {
    const sim = await simulator();
    const client = await pgClient(sim);
    for (let i = 0; i < 2; i++) await client.query("select $1::int as n", [1]);
    expect(statuses("select $1::int as n")).toEqual(["miss", "hit"]);
    await client.end();
  });
});

describe("byte-exact results ([D] concepts/query-caching.mdx: the cache returns what the database returned)", () => {
  const families = `select
    '\\x00ff10fe'::bytea as bytea, 'a\uFFFDb 🚀'::text as text, 12345678901234567890.123::numeric as numeric,
    1.5::float8 as float8, 2::int2 as int2, 9007199254740993::int8 as int8, true as bool,
    '2024-02-29 12:34:56.789+02'::timestamptz as timestamptz, '2024-02-29'::date as date, '1 day 2 hours'::interval as interval,
    '{"a":[1,2]}'::jsonb as jsonb, '{"b": 1}'::json as json, array[1,2,null]::int[] as ints, '{a,b}'::text[] as texts,
    'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid as uuid, '10.0.0.1/8'::inet as inet, '(1,2)'::point as point,
    null::text as nothing, 'x'::"char" as ch, B'1011'::bit(4) as bits`;

  // Each value as the driver received it (text, or a Buffer of the binary format): compared byte for byte.
  const raw = { getTypeParser: () => (value: string | Buffer) => value } as unknown as pg.CustomTypesConfig;

  it("every type family reads the same through the simulator as directly, on a miss and on a hit", async () => {
    const sim = await simulator();
    const direct = (await admin.query({ text: families, types: raw })).rows;
    const client = await pgClient(sim);
    expect((await client.query({ text: families, types: raw })).rows).toEqual(direct);
    expect((await client.query({ text: families, types: raw })).rows).toEqual(direct);
    // The extended protocol, results in binary: the bytes of each value, not a rendering of them.
    const binary = { text: `${families}, $1::int as p`, values: [7], binary: true, types: raw };
    const binaryDirect = (await admin.query(binary)).rows;
    expect((await client.query(binary)).rows).toEqual(binaryDirect);
    expect((await client.query(binary)).rows).toEqual(binaryDirect);
    expect(statuses(families)).toEqual(["miss", "hit"]);
    expect(statuses(binary.text)).toEqual(["miss", "hit"]);
    await client.end();
  });
});

describe("smaller items", () => {
  it("forwards cancel requests: a cancelled query stops with 57014 ([D] PostgreSQL protocol; pg and Postgres.js cancel)", async () => {
    const sim = await simulator({ poolSize: 1 });
    const sql = postgres(sim.localConnectionString, { max: 1, prepare: true, fetch_types: false });
    const started = performance.now();
    const query = sql`select pg_sleep(${20}) as slept`;
    setTimeout(() => query.cancel(), 300);
    await expect(query).rejects.toMatchObject({ code: "57014", message: "canceling statement due to user request" });
    expect(performance.now() - started).toBeLessThan(15_000);
    expect(await sql`select ${1}::int as one`).toEqual([{ one: 1 }]);
    await sql.end();
  });

  it("checks the user and database a client logs in with against the binding's", async () => {
    const sim = await simulator();
    const url = new URL(sim.localConnectionString);
    const other = (change: (url: URL) => void) => {
      const changed = new URL(url);
      change(changed);
      const client = new pg.Client({ connectionString: changed.toString() });
      client.on("error", () => {});
      return client.connect().finally(() => client.end().catch(() => {}));
    };
    await expect(other((u) => (u.username = "someone_else"))).rejects.toMatchObject({ code: "28P01" });
    await expect(other((u) => (u.pathname = "/another_db"))).rejects.toMatchObject({ code: "3D000" });
    await poolServes(sim);
  });

  it("keeps the cache under maxCacheBytes and sweeps expired entries", async () => {
    const sim = await simulator({ caching: { maxAge: 1, staleWhileRevalidate: 0, maxCacheBytes: 64 * 1024 } });
    const client = await pgClient(sim);
    for (let i = 0; i < 10; i++) await client.query(`select repeat('x', 20000) as big, ${i} as i`);
    expect(sim.stats().cache.bytes).toBeLessThanOrEqual(64 * 1024);
    expect(sim.stats().cache.entries).toBeGreaterThan(0);
    for (let i = 0; i < 100 && sim.stats().cache.entries > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(sim.stats().cache).toEqual({ entries: 0, bytes: 0 });
    await client.end();
  });
});

// A CancelRequest for a key nobody has is dropped without harm (a client that already left).
it("ignores a CancelRequest with an unknown key", async () => {
  const sim = await simulator();
  const socket = tcp(sim.port, sim.host);
  await new Promise((resolve) => socket.once("connect", resolve));
  const request = Buffer.alloc(16);
  request.writeInt32BE(16, 0);
  request.writeInt32BE(80877102, 4);
  socket.write(request);
  await new Promise((resolve) => socket.once("close", resolve));
  await poolServes(sim);
});
