import { classify, isHyperdriveError } from "@hyperdrive-kit/core";
import type { Rows } from "@hyperdrive-kit/testing/conformance";
import { describeFaults } from "@hyperdrive-kit/testing/faults";
import {
  describeMysqlCases,
  killWhileSleeping,
  type MysqlDriverUnderTest,
  mysqlFaultExpectations,
} from "@hyperdrive-kit/testing/mysql";
import { describeStreams } from "@hyperdrive-kit/testing/streams";
import { describeConformance, eventually, expectCode, useMode } from "@hyperdrive-kit/testing/suite";
import { eq, type SQL, sql } from "drizzle-orm";
import { int, mysqlTable, varchar } from "drizzle-orm/mysql-core";
import { drizzle } from "drizzle-orm/mysql2";
import { createPool, type PoolConnection, raw } from "mysql2";
import { type Connection, createConnection } from "mysql2/promise";
import { describe, expect, it } from "vitest";
import { DEFAULT_CONNECTION_LIMIT, type Mysql2Connection } from "../src/index.ts";
import {
  type Binding,
  bindings,
  callbackConnection,
  connections,
  errorEvent,
  lifecycle,
  pooled,
  scoped,
  statementCounters,
} from "./helpers.ts";

/** A plain mysql2 promise connection, without the handle: the control group. */
function rawConnection(binding: Binding): Promise<Connection> {
  const { host, port, user, password, database } = binding;
  return createConnection({ host, port, user, password, database, disableEval: true });
}

describe("mysql2 Connection", () => {
  describeConformance();
  describe("under real faults", () => describeFaults(mysqlFaultExpectations));
  describe("row streams", () => describeStreams(mysqlFaultExpectations.reset));
});

describe("mysql2 Pool ({ pool: true })", () => {
  useMode({ pool: true });
  describeConformance();
  describe("under real faults", () => describeFaults(mysqlFaultExpectations));
  describe("row streams", () => describeStreams(mysqlFaultExpectations.reset));
});

const injection = { password: true };
/** Every way mysql2's API can pass an object as a bind value. */
const objectValueCases: MysqlDriverUnderTest<Mysql2Connection>["objectValueCases"] = [
  ["query(sql, [object])", (db) => db.query("select * from t where password = ?", [injection])],
  ["query(sql, object)", (db) => db.query("select * from t where password = ?", injection)],
  ["query({ sql, values })", (db) => db.query({ sql: "select ?", values: [injection] })],
  ["execute(sql, [object])", (db) => db.execute("select * from t where password = ?", [injection])],
  ["an array holding an object", (db) => db.query("select * from t where id in (?)", [[1, injection]])],
  ["a Map", (db) => db.query("select ?", [new Map([["password", true]])])],
  ["a named placeholder", (db) => db.query({ sql: "select :p", namedPlaceholders: true }, { p: injection })],
  [
    "the callback API",
    (db) =>
      new Promise((resolve, reject) =>
        callbackConnection(db).query("select ?", [injection], (e, r) => (e ? reject(e) : resolve(r))),
      ),
  ],
];

/** The handle as the shared MySQL cases drive it: the promise API. */
const driver: MysqlDriverUnderTest<Mysql2Connection> = {
  scoped,
  query: async (db, sql, values) => (await db.query(sql, values as Parameters<Connection["query"]>[1]))[0] as Rows,
  objectValueCases,
  objectValueBehaviour: "sends it as the string '[object Object]' anywhere else",
};

describe("mysql2 Connection: the cases both MySQL drivers share", () => describeMysqlCases(driver));

describe("defaults", () => {
  it("takes host, port, user, password and database from the binding and sets disableEval", async () => {
    const binding = bindings.HYPERDRIVE;
    // Local workerd hands out a *.hyperdrive.local host; whatever port it reports, that address routes.
    expect(binding.host).toMatch(/^[0-9a-f]{32}\.hyperdrive\.local$/);
    const { value } = await scoped(async (db) => {
      const [rows] = await db.query("select current_user() as who, database() as db");
      const { host, port, user, password, database, disableEval } = db.config;
      return { rows, config: { host, port, user, password, database, disableEval } };
    });
    expect(value?.config).toEqual({
      host: binding.host,
      port: binding.port,
      user: binding.user,
      password: binding.password,
      database: binding.database,
      disableEval: true,
    });
    expect(value?.rows).toEqual([{ who: `${binding.user}@%`, db: binding.database }]);
  });

  it("refuses disableEval: false with HDK_EVAL_DISALLOWED's fix, before connecting", async () => {
    const { error, events } = await scoped(async (db) => db.query("select 1"), { client: { disableEval: false } });
    expectCode(error, "HDK_EVAL_DISALLOWED");
    expect((error as Error).message).toContain('allowUnsafe: ["disableEval"]');
    expect(lifecycle(events)).toEqual([]); // refused while attaching: no client, so nothing to tear down
  });

  it("with allowUnsafe disableEval, maps the runtime's eval refusal to HDK_EVAL_DISALLOWED", async () => {
    const { error } = await scoped(async (db) => db.query("select 1 as one"), {
      client: { disableEval: false },
      allowUnsafe: ["disableEval"],
    });
    expectCode(error, "HDK_EVAL_DISALLOWED");
    expect(String((error as Error).cause)).toContain("Code generation from strings disallowed");
  });
});

describe("execute() sends no COM_STMT_PREPARE", () => {
  it("answers like query() while the server receives no prepared statement (a raw execute() does count)", async () => {
    const before = await statementCounters();
    const { value, error } = await scoped(async (db) => {
      const [executed] = await db.execute("select ? as a, ? as b, ? as c", [1, "two", null]);
      const [queried] = await db.query("select ? as a, ? as b, ? as c", [1, "two", null]);
      return { executed, queried };
    });
    expect(error).toBeUndefined();
    expect(value?.executed).toEqual([{ a: 1, b: "two", c: null }]);
    expect(value?.executed).toEqual(value?.queried);
    expect(await statementCounters()).toEqual(before);

    // The control: the same call without the handle is a real prepared statement, and the counters see it.
    const control = await rawConnection(bindings.HYPERDRIVE);
    await control.execute("select ? as a", [1]);
    await control.end();
    const after = await statementCounters();
    expect(after.prepare).toBe(before.prepare + 1);
    expect(after.execute).toBe(before.execute + 1);
  });

  it("reaches a Hyperdrive-like origin as a text query, where a raw execute() gets COM_STMT_PREPARE refused", async () => {
    // The fake origin answers every COM_QUERY with "Failed to acquire a connection from the pool." and every
    // COM_STMT_PREPARE with Hyperdrive's refusal, so the error tells which message was sent.
    const { error } = await scoped(async (db) => db.execute("select ? as a", [1]), { binding: "FAKE_ORIGIN" });
    expectCode(error, "HDK_HYPERDRIVE_POOL_EXHAUSTED");

    const control = await rawConnection(bindings.FAKE_ORIGIN);
    const refused = await control.execute("select ? as a", [1]).catch((e: unknown) => e);
    control.destroy();
    expect((refused as Error).message).toBe("Hyperdrive does not currently support MySQL COM_STMT_PREPARE messages");
    expect(classify(refused)).toMatchObject({ type: "catalog", code: "HDK_HYPERDRIVE_MYSQL_PREPARE_UNSUPPORTED" });
  });

  it("covers the callback API behind db.connection and execute(options)", async () => {
    const before = await statementCounters();
    const { value } = await scoped(async (db) => {
      const viaCallback = await new Promise((resolve, reject) =>
        callbackConnection(db).execute("select ? as a", [2], (error, rows) => (error ? reject(error) : resolve(rows))),
      );
      const [viaOptions] = await db.execute({ sql: "select ? as a", values: [3], rowsAsArray: true });
      return { viaCallback, viaOptions };
    });
    expect(value).toEqual({ viaCallback: [{ a: 2 }], viaOptions: [[3]] });
    expect(await statementCounters()).toEqual(before);
  });

  it("keeps execute()'s refusal of undefined bind values", async () => {
    const { error } = await scoped(async (db) => db.execute("select ? as a", [undefined as unknown as null]));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toContain("Bind parameters must not contain undefined");
  });

  it("fails prepare() with HDK_HYPERDRIVE_MYSQL_PREPARE_UNSUPPORTED before anything is sent", async () => {
    const before = await statementCounters();
    const { error, events } = await scoped(async (db) => db.prepare("select ? as a"));
    expectCode(error, "HDK_HYPERDRIVE_MYSQL_PREPARE_UNSUPPORTED");
    expect(lifecycle(events)).not.toContain("connect");
    expect(await statementCounters()).toEqual(before);
  });

  it("in pool mode, execute() on the pool and on a pooled connection sends no prepared statement", async () => {
    const before = await statementCounters();
    const { value, error } = await pooled(async (db) => {
      const [fromPool] = await db.execute("select ? as a", [1]);
      const connection = await db.getConnection();
      try {
        const [fromConnection] = await connection.execute("select ? as a", [2]);
        return { fromPool, fromConnection };
      } finally {
        connection.release();
      }
    });
    expect(error).toBeUndefined();
    expect(value).toEqual({ fromPool: [{ a: 1 }], fromConnection: [{ a: 2 }] });
    expect(await statementCounters()).toEqual(before);
  });
});

describe("object bind values", () => {
  it("with allowUnsafe, sends an object outside `SET ?` as the string '[object Object]', as the refusal says", async () => {
    const { value, error } = await scoped(async (db) => (await db.query("select ? as v", [{ a: 1 }]))[0], {
      allowUnsafe: ["objectValues"],
    });
    expect(error).toBeUndefined();
    expect(value).toEqual([{ v: "[object Object]" }]);
  });

  it("refuses on the pool before a connection is taken", async () => {
    const { error, events } = await pooled(async (db) => db.query("select ?", [injection]));
    expectCode(error, "HDK_UNSAFE_BIND_VALUE");
    expect(lifecycle(events)).toEqual(["teardown:closed"]);
  });

  it("accepts primitives, lists for IN (?), bulk rows, Date, Buffer, Uint8Array, null and raw()", async () => {
    const { value, error } = await scoped(
      async (db) => {
        await db.query("create temporary table t (a int, b varchar(10), c varbinary(8), d datetime)");
        const when = new Date(Date.UTC(2025, 0, 2, 3, 4, 5));
        await db.query("insert into t (a, b, c, d) values ?", [
          [
            [1, "one", Buffer.from("x"), when],
            [2, null, new Uint8Array([0x79]), null],
          ],
        ]);
        const [rows] = await db.query("select a, b, hex(c) as c from t where a in (?) and a < ? order by a", [
          [1, 2, 3],
          raw("10"),
        ]);
        return rows;
      },
      { client: { timezone: "Z" } },
    );
    expect(error).toBeUndefined();
    expect(value).toEqual([
      { a: 1, b: "one", c: "78" },
      { a: 2, b: null, c: "79" },
    ]);
  });
});

describe("errors from the seed's mysql2 table, against the real server", () => {
  it("query after end(): HDK_MYSQL2_CONNECTION_CLOSED", async () => {
    const { error, events } = await scoped(async (db) => {
      await db.query("select 1");
      await db.end();
      return db.query("select 1");
    });
    expectCode(error, "HDK_MYSQL2_CONNECTION_CLOSED");
    expect((error as Error).message).toContain("Can't add new command when connection is in closed state");
    expect(lifecycle(events).at(-1)).toBe("teardown:closed");
  });

  it("KILL while idle: reported as HDK_MYSQL_CONNECTION_LOST, never thrown; the next query is HDK_MYSQL2_CONNECTION_CLOSED", async () => {
    const { value, error, events } = await scoped(async (db, seen) => {
      const [[row]] = (await db.query("select connection_id() as id")) as unknown as [[{ id: number }]];
      await scoped(async (adminDb) => adminDb.query(`kill ${row.id}`), { binding: "ADMIN" });
      const idle = await errorEvent(seen);
      return { idle, next: await db.query("select 1").catch((e: unknown) => e) };
    });
    expect(error).toBeUndefined();
    expect(value?.idle?.type === "error" && value.idle.error.code).toBe("HDK_MYSQL_CONNECTION_LOST");
    expectCode(value?.next, "HDK_MYSQL2_CONNECTION_CLOSED");
    expect(lifecycle(events).at(-1)).toBe("teardown:closed");
  });

  it("pool used after end(): HDK_MYSQL2_POOL_CLOSED", async () => {
    const { error } = await pooled(async (db) => {
      await db.query("select 1");
      await db.end();
      return db.query("select 1");
    });
    expectCode(error, "HDK_MYSQL2_POOL_CLOSED");
  });

  it("classify() maps the raw driver errors behind each row (no handle involved)", async () => {
    const { host, port, user, password, database } = bindings.HYPERDRIVE;
    const connection = await rawConnection(bindings.HYPERDRIVE);
    await connection.end();
    const closed = await connection.query("select 1").catch((e: unknown) => e);

    const pool = createPool({ host, port, user, password, database, disableEval: true });
    await new Promise((resolve) => pool.end(resolve));
    const poolClosed = await new Promise((resolve) => pool.query("select 1", (e) => resolve(e)));

    const killed = await rawConnection(bindings.HYPERDRIVE);
    const [[row]] = (await killed.query("select connection_id() as id")) as unknown as [[{ id: number }]];
    const busy = killed.query("select sleep(30)").catch((e: unknown) => e);
    await killWhileSleeping(driver, row.id);
    const lost = await busy;

    const evil = await createConnection({ host, port, user, password, database, disableEval: false });
    const evalRefused = await evil.query("select 1 as one").catch((e: unknown) => e);
    evil.destroy();

    expect((closed as Error).message).toBe("Can't add new command when connection is in closed state");
    expect((poolClosed as Error).message).toBe("Pool is closed.");
    expect((lost as { code?: unknown }).code).toBe("PROTOCOL_CONNECTION_LOST");
    expect(String((evalRefused as Error).message)).toContain("Code generation from strings disallowed");
    expect([closed, poolClosed, lost, evalRefused].map((e) => (classify(e) as { code?: unknown }).code)).toEqual([
      "HDK_MYSQL2_CONNECTION_CLOSED",
      "HDK_MYSQL2_POOL_CLOSED",
      "HDK_MYSQL_CONNECTION_LOST",
      "HDK_EVAL_DISALLOWED",
    ]);
  });

  it("passes the database's own errors through unchanged (errno, sqlState), as Hyperdrive does", async () => {
    const { error } = await scoped(async (db) => db.query("select * from no_such_table"));
    expect(isHyperdriveError(error)).toBe(false);
    expect(error).toMatchObject({ errno: 1146, sqlState: "42S02", code: "ER_NO_SUCH_TABLE" });
  });

  it("a query's error shows the code that called it, one frame below the handle's method", async () => {
    // mysql2/promise captures the stack when the query is sent; Workers keep 10 frames, and V8 pays for each.
    async function callerOfQuery(db: Mysql2Connection) {
      return db.query("SELEC broken");
    }
    const { error } = await scoped(callerOfQuery);
    const frames = String((error as Error).stack).split("\n    at ");
    expect(frames[1]).toMatch(/^Proxy\.query /);
    expect(frames[2]).toMatch(/^callerOfQuery /);
  });
});

describe("pool mode", () => {
  it("defaults to connectionLimit 5, refuses more than 6, and leaves no connection behind", async () => {
    const { value, events } = await pooled(async (db) => {
      // Eight at once: the pool opens five connections (its limit) and queues the other three.
      await Promise.all(Array.from({ length: 8 }, (_, i) => db.query("select ? as i", [i])));
      return { limit: db.pool.config.connectionLimit, open: await connections() };
    });
    expect(value).toEqual({ limit: DEFAULT_CONNECTION_LIMIT, open: DEFAULT_CONNECTION_LIMIT });
    expect(lifecycle(events).at(-1)).toBe("teardown:closed");
    // Teardown wrote COM_QUIT on each idle connection and did not wait: the server closes them right after.
    expect(await eventually(connections, (n) => n === 0)).toBe(0);

    const refused = await pooled(async (db) => db.query("select 1"), { client: { connectionLimit: 7 } });
    expectCode(refused.error, "HDK_UNSAFE_OPTION");
    expect((refused.error as Error).message).toContain("connectionLimit: 7");
  });

  it("a connection asked for with the callback API and not awaited (Kysely's way) is handed out: teardown waits for it", async () => {
    // The callback returns while the pool is still connecting for `getConnection(cb)`; the connection's first query
    // runs a few microtasks after it arrives, as Kysely's runs. Teardown used to close the pool under the pending
    // connect, which mysql2 answers with a bare "Pool is closed.".
    let late: Promise<unknown> | undefined;
    const { error, events } = await pooled(async (db) => {
      late = (async () => {
        const connection = await new Promise<PoolConnection>((resolve, reject) =>
          db.pool.getConnection((e, c) => (e ? reject(e) : resolve(c))),
        );
        try {
          return await new Promise((resolve, reject) =>
            connection.query("select 1 as one", (e, rows) => (e ? reject(e) : resolve(rows))),
          );
        } finally {
          connection.release();
        }
      })().catch((e: unknown) => e);
      return undefined;
    });
    expect(error).toBeUndefined();
    expect(await late).toEqual([{ one: 1 }]);
    expect(lifecycle(events).at(-1)).toBe("teardown:closed");
    expect(await eventually(connections, (n) => n === 0)).toBe(0);
  });

  it("during an outage, every connect event carries the outage's code, never a closed pool's", async () => {
    // Parallel queries: the first refusal ends Promise.all and the callback, while the pool's other connects are
    // still failing; those used to be reported as HDK_MYSQL2_POOL_CLOSED, whose text blames a global pool.
    const { error, events } = await pooled(
      async (db) => Promise.all(Array.from({ length: 4 }, (_, i) => db.query("select ? as i", [i]))),
      { binding: "DOWN" },
    );
    expectCode(error, "HDK_CONNECT_REFUSED");
    const connects = () => events.filter((event) => event.type === "connect");
    await eventually(
      async () => connects().length,
      (n) => n >= 4,
    );
    const codes = connects().map((event) => (event as { error?: { code?: string } }).error?.code);
    expect(codes).toEqual(["HDK_CONNECT_REFUSED", "HDK_CONNECT_REFUSED", "HDK_CONNECT_REFUSED", "HDK_CONNECT_REFUSED"]);
    const errors = events.flatMap((event) => (event.type === "error" ? [event.error.code] : []));
    expect(errors).not.toContain("HDK_MYSQL2_POOL_CLOSED");
  });
});

describe("Drizzle's mysql2 session on the handle", () => {
  it("runs schema queries, a transaction and session.all() (execute(), as Drizzle's migrator uses it) with no prepared statement", async () => {
    const users = mysqlTable("users", {
      id: int("id").primaryKey().autoincrement(),
      name: varchar("name", { length: 40 }),
    });
    const before = await statementCounters();
    const { value, error } = await scoped(async (connection) => {
      const db = drizzle(connection);
      await db.execute(sql`create temporary table users (id int primary key auto_increment, name varchar(40))`);
      await db.insert(users).values([{ name: "ada" }, { name: "grace" }]);
      await db.transaction(async (tx) => {
        await tx.update(users).set({ name: "Ada" }).where(eq(users.name, "ada"));
      });
      const selected = await db.select().from(users).where(eq(users.id, 1));
      // Internal to Drizzle, but the one path that calls execute(): the migrator reads its journal with it.
      const session = (db as unknown as { session: { all(query: SQL): Promise<unknown> } }).session;
      const viaExecute = await session.all(sql`select ${"through execute()"} as how`);
      return { selected, viaExecute };
    });
    expect(error).toBeUndefined();
    expect(value).toEqual({ selected: [{ id: 1, name: "Ada" }], viaExecute: [{ how: "through execute()" }] });
    expect(await statementCounters()).toEqual(before);
  });
});
