/**
 * The fidelity suite, MySQL (MariaDB): each test runs the client code a Worker runs against the simulator and names
 * the production behaviour it reproduces and its source ([D] cloudflare-docs `src/content/docs/hyperdrive/`).
 */
import { randomBytes } from "node:crypto";
import { type RunningServer, startMariadb } from "@hyperdrive-kit/testing/servers";
import mysql from "mysql2/promise";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type QueryEvent, type Simulator, type SimulatorOptions, startSimulator } from "../../src/index.ts";
import { MYSQL_REFUSAL_MESSAGES } from "../../src/mysql/refusals.ts";

let server: RunningServer;
let admin: mysql.Connection;
const simulators: Simulator[] = [];
let events: QueryEvent[] = [];

beforeAll(async () => {
  server = await startMariadb();
  admin = await mysql.createConnection({ uri: server.url });
  await admin.query("create table if not exists notes (id int auto_increment primary key, note varchar(100))");
  await admin.query("create table if not exists touched (id int auto_increment primary key)");
});
afterAll(async () => {
  for (const simulator of simulators) await simulator.close();
  await admin?.end();
  await server?.stop();
});
beforeEach(async () => {
  events = [];
  await admin.query("truncate notes");
  await admin.query("truncate touched");
});

async function simulator(options: Partial<SimulatorOptions> = {}) {
  const started = await startSimulator({ origin: server.url, onQuery: (event) => events.push(event), ...options });
  simulators.push(started);
  return started;
}
const connect = (sim: Simulator) => mysql.createConnection({ uri: sim.localConnectionString });
const statuses = (text: string) => events.filter((e) => e.text === text).map((e) => e.cache);
const count = async (table: string) => {
  const [rows] = await admin.query(`select count(*) as n from ${table}`);
  return Number((rows as Array<{ n: number }>)[0]?.n);
};

async function poolServes(sim: Simulator) {
  const connection = await connect(sim);
  try {
    const [rows] = await connection.query("select 41 + 1 as answer");
    expect(rows).toEqual([{ answer: 42 }]);
  } finally {
    await connection.end();
  }
}

describe("the statement limit ([D] platform/limits.mdx: maximum query duration 60 seconds, terminated past it)", () => {
  it("kills a statement past the limit with MariaDB's own statement-timeout error; the connection goes on", async () => {
    const sim = await simulator({ statementTimeoutMs: 1_000, poolSize: 1 });
    const connection = await connect(sim);
    await expect(connection.query("select sleep(30)")).rejects.toMatchObject({
      errno: 1969,
      sqlState: "70100",
      message: "Query execution was interrupted (max_statement_time exceeded)",
    });
    const [rows] = await connection.query("select 1 as one");
    expect(rows).toEqual([{ one: 1 }]);
    await connection.end();
  });
});

describe("every way a client leaves returns the origin connection clean or closes it ([P] pooling-mode.mdx)", () => {
  it("mid-transaction: rolled back, the pool serves", async () => {
    const sim = await simulator({ poolSize: 1, acquireTimeoutMs: 3_000 });
    const connection = await connect(sim);
    await connection.query("begin");
    await connection.query("insert into notes (note) values ('in a transaction')");
    connection.destroy();
    await poolServes(sim);
    expect(await count("notes")).toBe(0);
  });

  it("mid-query (socket destroyed during SLEEP(60)): the statement is killed, the pool serves", async () => {
    const sim = await simulator({ poolSize: 1, acquireTimeoutMs: 5_000 });
    const connection = await connect(sim);
    connection.query("select sleep(60)").catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 300));
    connection.destroy();
    await poolServes(sim);
  });

  it("COM_QUIT mid-query (SLEEP(60)): the statement is killed, the pool serves", async () => {
    const sim = await simulator({ poolSize: 1, acquireTimeoutMs: 5_000 });
    const connection = await connect(sim);
    connection.query("select sleep(60)").catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 300));
    // COM_QUIT on the wire, the socket left open: the server is the one to close it.
    const stream = (connection as unknown as { connection: { stream: NodeJS.WritableStream } }).connection.stream;
    stream.write(Buffer.from([1, 0, 0, 0, 0x01]));
    await poolServes(sim);
    connection.destroy();
  });

  it("after an error: the pool serves", async () => {
    const sim = await simulator({ poolSize: 1, acquireTimeoutMs: 3_000 });
    const connection = await connect(sim);
    await connection.query("begin");
    await expect(connection.query("select * from no_such_table")).rejects.toMatchObject({ errno: 1146 });
    connection.destroy();
    await poolServes(sim);
  });
});

describe("cache correctness follows the database ([D] concepts/query-caching.mdx: non-deterministic functions are not cached)", () => {
  it("NEXTVAL and NEXT VALUE FOR are never cached", async () => {
    const sim = await simulator();
    await admin.query("create or replace sequence seq");
    const connection = await connect(sim);
    const values: number[] = [];
    for (const sql of ["select nextval(seq) as v", "select nextval(seq) as v", "select next value for seq as v"]) {
      const [rows] = await connection.query(sql);
      values.push(Number((rows as Array<{ v: number }>)[0]?.v));
    }
    expect(values).toEqual([1, 2, 3]);
    expect(statuses("select nextval(seq) as v")).toEqual(["volatile", "volatile"]);
    await connection.end();
  });

  it("RANDOM_BYTES() is never cached", async () => {
    const sim = await simulator();
    const connection = await connect(sim);
    const [a] = await connection.query("select hex(random_bytes(16)) as r");
    const [b] = await connection.query("select hex(random_bytes(16)) as r");
    expect(a).not.toEqual(b);
    await connection.end();
  });

  it("a NOT DETERMINISTIC stored function created after the simulator started is not cached: its writes happen", async () => {
    const sim = await simulator();
    await admin.query("drop function if exists touch");
    await admin.query(
      "create function touch() returns int not deterministic modifies sql data begin insert into touched () values (); return 1; end",
    );
    const connection = await connect(sim);
    for (let i = 0; i < 3; i++) await connection.query("select touch() as t");
    expect(await count("touched")).toBe(3);
    expect(statuses("select touch() as t")).toEqual(["volatile", "volatile", "volatile"]);
    await connection.end();
  });

  it("a stored function called by its backquoted name is not cached either", async () => {
    const sim = await simulator();
    await admin.query("drop function if exists `TouchQ`");
    await admin.query(
      "create function `TouchQ`() returns int not deterministic modifies sql data begin insert into touched () values (); return 1; end",
    );
    const before = await count("touched");
    const connection = await connect(sim);
    for (let i = 0; i < 3; i++) await connection.query("select `TouchQ`() as t");
    expect(await count("touched")).toBe(before + 3);
    expect(statuses("select `TouchQ`() as t")).toEqual(["volatile", "volatile", "volatile"]);
    await connection.end();
  });
});

describe("byte-exact results ([D] concepts/query-caching.mdx: the cache returns what the database returned)", () => {
  it("BLOBs and every type family read the same through the simulator as directly, on a miss and on a hit", async () => {
    const sim = await simulator();
    await admin.query("drop table if exists families");
    await admin.query(`create table families (
      b longblob, vb varbinary(16), bn binary(4), t text charset utf8mb4, l varchar(10) charset latin1,
      i int, bi bigint unsigned, d decimal(30,10), f float, db double, dt datetime(6), ts timestamp(3) null,
      dd date, tm time(2), y year, j json, e enum('a','b'), s set('x','y'), bt bit(9), n varchar(5))`);
    const blob = randomBytes(4096);
    await admin.query(
      "insert into families values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, b'101010101', null)",
      [
        blob,
        Buffer.from([0, 0xff, 0x80, 0x0a]),
        Buffer.from([1, 2, 0, 0xfe]),
        "a\uFFFDb 🚀 ünï",
        "café",
        -2147483648,
        "18446744073709551615",
        "12345678901234567890.0123456789",
        1.5,
        Math.PI,
        "2024-02-29 12:34:56.123456",
        "2024-02-29 12:34:56.789",
        "2024-02-29",
        "-838:59:59.99",
        2024,
        '{"a": [1, 2]}',
        "b",
        "x,y",
      ],
    );
    const read = "select * from families";
    // Every value as the bytes the driver received, and the column definitions as it read them.
    const options = { sql: read, typeCast: (field: { buffer(): Buffer | null }) => field.buffer() };
    // Directly on a connection like the simulator's pooled ones (utf8mb4, collation 45): a column's character set in
    // a result is the connection's, and pooled connections are shared by clients whatever collation each declared.
    const pooledLike = await mysql.createConnection({ uri: server.url, charset: "utf8mb4" });
    const [direct, directFields] = await pooledLike.query(options);
    await pooledLike.end();
    const connection = await connect(sim);
    for (let i = 0; i < 2; i++) {
      const [rows, fields] = await connection.query(options);
      expect(rows).toEqual(direct);
      expect((rows as Array<{ b: Buffer }>)[0]?.b.equals(blob)).toBe(true);
      const shape = (list: unknown) =>
        (list as Array<Record<string, unknown>>).map(
          ({ name, columnType, characterSet, flags, decimals, columnLength }) => ({
            name,
            columnType,
            characterSet,
            flags,
            decimals,
            columnLength,
          }),
        );
      expect(shape(fields)).toEqual(shape(directFields));
    }
    expect(statuses(read)).toEqual(["miss", "hit"]);
    await connection.end();
  });

  it("takes valid UTF-8 (U+FFFD included) as it is; refuses bytes that are not UTF-8 (supported-databases-and-features.mdx)", async () => {
    const sim = await simulator();
    const connection = await connect(sim);
    const [rows] = await connection.query("select 'a\uFFFDb' as x");
    expect(rows).toEqual([{ x: "a\uFFFDb" }]);
    await connection.end();
    // A client declaring latin1 sends é as one byte: not UTF-8, refused (mysql.test.ts covers raw bytes too).
    const latin1 = await mysql.createConnection({ uri: sim.localConnectionString, charset: "latin1_swedish_ci" });
    await expect(latin1.query("select 'café' as x")).rejects.toMatchObject({
      errno: 1105,
      message: MYSQL_REFUSAL_MESSAGES["non-utf8"],
    });
    await latin1.end();
  });
});

describe("smaller items", () => {
  it("says what happened when the origin connection is lost mid-query, and refuses LOAD DATA LOCAL", async () => {
    const sim = await simulator({ poolSize: 1 });
    const connection = await connect(sim);
    // Handled from the start: it may reject while the kill below is still awaited (an unhandled rejection then).
    const running = connection.query("select sleep(30) /* lost */").catch((caught: Error) => caught);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const [processes] = await admin.query(
      "select id from information_schema.processlist where info like '%sleep(30) /* lost */%' and id <> connection_id()",
    );
    for (const { id } of processes as Array<{ id: number }>) await admin.query(`kill connection ${Number(id)}`);
    const error = await running;
    expect(error).toMatchObject({
      errno: 1105,
      message: expect.stringMatching(/^Server connection lost while the statement ran/),
    });
    await expect(connection.query("load data local infile '/etc/hostname' into table notes")).rejects.toMatchObject({
      errno: 1105,
      message: MYSQL_REFUSAL_MESSAGES["load-data-local"],
    });
    await connection.end();
  });

  it("checks the user and database a client logs in with against the binding's", async () => {
    const sim = await simulator();
    const other = (change: (url: URL) => void) => {
      const url = new URL(sim.localConnectionString);
      change(url);
      return mysql.createConnection({ uri: url.toString() }).then((c) => c.end());
    };
    await expect(other((u) => (u.username = "someone_else"))).rejects.toMatchObject({ errno: 1045 });
    await expect(other((u) => (u.pathname = "/another_db"))).rejects.toMatchObject({ errno: 1049 });
    await poolServes(sim);
  });
});
