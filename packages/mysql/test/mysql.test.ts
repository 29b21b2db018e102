import { classify, isHyperdriveError } from "@hyperdrive-kit/core";
import { describeFaults } from "@hyperdrive-kit/testing/faults";
import {
  describeMysqlCases,
  killWhileSleeping,
  type MysqlDriverUnderTest,
  mysqlFaultExpectations,
} from "@hyperdrive-kit/testing/mysql";
import { describeStreams } from "@hyperdrive-kit/testing/streams";
import { describeConformance, expectCode } from "@hyperdrive-kit/testing/suite";
import { type Connection, createConnection, type FieldInfo, raw } from "mysql";
import { describe, expect, it } from "vitest";
import type { MysqlConnection } from "../src/index.ts";
import { type Binding, bindings, errorEvent, lifecycle, scoped } from "./helpers.ts";

type Rows = Array<Record<string, unknown>>;

/** mysqljs's callback query as a promise, without the handle's additions. */
function ask(db: Connection, sql: string, values?: unknown): Promise<Rows> {
  return new Promise((resolve, reject) =>
    db.query(sql, values, (error, rows: Rows) => (error ? reject(error) : resolve(rows))),
  );
}

/** A plain mysqljs connection, without the handle: the control group. */
function rawConnection(binding: Binding): Connection {
  const { host, port, user, password, database } = binding;
  return createConnection({ host, port, user, password, database });
}

async function connectionId(db: MysqlConnection): Promise<number> {
  const [rows] = await db.queryAsync<Array<{ id: number }>>("select connection_id() as id");
  return rows[0]?.id as number;
}

describe("mysql Connection", () => {
  describeConformance();
  describe("under real faults", () => describeFaults(mysqlFaultExpectations));
  describe("row streams", () => describeStreams(mysqlFaultExpectations.reset));
});

const injection = { password: true };
/** Every way mysqljs's API can pass an object as a bind value. */
const objectValueCases: MysqlDriverUnderTest<MysqlConnection>["objectValueCases"] = [
  ["query(sql, [object], cb)", (db) => ask(db, "select * from t where password = ?", [injection])],
  ["query(sql, object, cb)", (db) => ask(db, "select * from t where password = ?", injection)],
  [
    "query({ sql, values }, cb)",
    (db) => new Promise((r, j) => db.query({ sql: "select ?", values: [injection] }, (e, x) => (e ? j(e) : r(x)))),
  ],
  ["queryAsync(sql, [object])", (db) => db.queryAsync("select * from t where password = ?", [injection])],
  ["an array holding an object", (db) => ask(db, "select * from t where id in (?)", [[1, injection]])],
  ["the row emitter", async (db) => db.query("select ?", [injection])],
];

/** The handle as the shared MySQL cases drive it: the callback API. */
const driver: MysqlDriverUnderTest<MysqlConnection> = {
  scoped,
  query: ask,
  objectValueCases,
  objectValueBehaviour: "mysqljs expands it into `` `key` = value `` pairs wherever the `?` stands",
};

describe("mysql Connection: the cases both MySQL drivers share", () => describeMysqlCases(driver));

describe("defaults", () => {
  it("takes host, port, user, password and database from the binding", async () => {
    const binding = bindings.HYPERDRIVE;
    const { value } = await scoped(async (db) => {
      const { host, port, user, password, database } = db.config;
      return { rows: await ask(db, "select database() as db"), config: { host, port, user, password, database } };
    });
    const { host, port, user, password, database } = binding;
    expect(value).toEqual({ rows: [{ db: database }], config: { host, port, user, password, database } });
  });
});

describe("the callback API, as mysqljs users write it", () => {
  it("fails withHyperdrive with an exception thrown inside a query callback, instead of losing it", async () => {
    // `if (err) throw err`: raw mysqljs logs it as uncaught and the request hangs until the runtime cancels it.
    const { error, events } = await scoped(
      (db) =>
        new Promise((resolve) => {
          db.query("SELEC broken", (err: unknown, rows: unknown) => {
            if (err) throw err;
            resolve(rows);
          });
        }),
    );
    expect(error).toMatchObject({ code: "ER_PARSE_ERROR", errno: 1064 });
    // It never reached the driver: the connection stayed healthy and closed cleanly.
    expect(lifecycle(events)).toEqual(["connect", "teardown:closed"]);
  });

  it("hands a lifecycle error to the callback, as callback code expects, instead of throwing", async () => {
    let kept: MysqlConnection | undefined;
    await scoped(async (db) => {
      kept = db;
      await ask(db, "select 1");
    });
    const outcome = await new Promise<{ threw: unknown; code: unknown; rows: unknown }>((resolve) => {
      try {
        kept?.query("select 1", (error: unknown, rows: unknown) =>
          resolve({ threw: undefined, code: (error as { code?: unknown } | null)?.code, rows }),
        );
      } catch (threw) {
        resolve({ threw, code: undefined, rows: undefined });
      }
    });
    expect(outcome).toEqual({ threw: undefined, code: "HDK_HANDLE_AFTER_TEARDOWN", rows: undefined });
  });

  it("rejects a lifecycle error from the promise calls (queryAsync(), connect() and end() without a callback) instead of throwing", async () => {
    let kept: MysqlConnection | undefined;
    await scoped(async (db) => {
      kept = db;
      await db.queryAsync("select 1");
    });
    const handle = kept as MysqlConnection;
    const calls = {
      queryAsync: () => handle.queryAsync("select 1"),
      connect: () => handle.connect(),
      end: () => handle.end(),
    };
    const outcomes: Record<string, unknown> = {};
    for (const [name, call] of Object.entries(calls)) {
      try {
        outcomes[name] = await (call() as Promise<unknown>).then(
          () => "resolved",
          (error: unknown) => (error as { code?: unknown }).code,
        );
      } catch {
        outcomes[name] = "threw";
      }
    }
    expect(outcomes).toEqual({
      queryAsync: "HDK_HANDLE_AFTER_TEARDOWN",
      connect: "HDK_HANDLE_AFTER_TEARDOWN",
      end: "HDK_HANDLE_AFTER_TEARDOWN",
    });
  });

  it("query(sql, values, cb), query(options, cb), query(sql, cb) and the row emitter", async () => {
    const { value, error } = await scoped(async (db) => {
      const positional = await ask(db, "select ? as a", [1]);
      const withOptions = await new Promise((resolve, reject) =>
        db.query({ sql: "select ? as a", values: [2] }, (e, rows) => (e ? reject(e) : resolve(rows))),
      );
      const noValues = await new Promise((resolve, reject) =>
        db.query("select 3 as a", (e, rows) => (e ? reject(e) : resolve(rows))),
      );
      const emitted = await new Promise((resolve, reject) => {
        const rows: unknown[] = [];
        db.query("select 4 as a union all select 5")
          .on("result", (row) => rows.push({ ...row }))
          .on("error", reject)
          .on("end", () => resolve(rows));
      });
      return { positional, withOptions, noValues, emitted };
    });
    expect(error).toBeUndefined();
    expect(value).toEqual({
      positional: [{ a: 1 }],
      withOptions: [{ a: 2 }],
      noValues: [{ a: 3 }],
      emitted: [{ a: 4 }, { a: 5 }],
    });
  });

  it("connect() is idempotent: called before, alongside and after queries, one handshake and no HANDSHAKE_TWICE", async () => {
    const { value, error, events } = await scoped(async (db) => {
      const calls: unknown[] = [];
      const connected = (e: unknown) => calls.push(e ?? null);
      db.connect(connected);
      db.connect(connected);
      const first = await connectionId(db);
      db.connect(connected);
      await db.connect();
      const second = await connectionId(db);
      await new Promise<void>((resolve) => db.connect(() => resolve()));
      return { calls, same: first === second };
    });
    expect(error).toBeUndefined();
    expect(value).toEqual({ calls: [null, null, null], same: true });
    expect(lifecycle(events)).toEqual(["connect", "teardown:closed"]);
  });

  it("a handshake failure reaches connect()'s callback, its promise and the queued query alike", async () => {
    const { value } = await scoped(
      async (db) => {
        db.connect(); // fire and forget, as mysqljs code does: must not become an unhandled rejection
        const viaCallback = new Promise((resolve) => db.connect((e) => resolve(e)));
        const viaPromise = db.connect().catch((e: unknown) => e);
        const viaQuery = ask(db, "select 1").catch((e: unknown) => e);
        return { callback: await viaCallback, promise: await viaPromise, query: await viaQuery };
      },
      { binding: "BAD_PASSWORD" },
    );
    expectCode(value?.callback, "HDK_CONFIG_INVALID_CREDENTIALS");
    expectCode(value?.promise, "HDK_CONFIG_INVALID_CREDENTIALS");
    expectCode(value?.query, "HDK_CONFIG_INVALID_CREDENTIALS");
  });

  it("end() twice: the second reports HDK_MYSQL_ENQUEUE_AFTER_QUIT when awaited, and nothing when ignored", async () => {
    const { value, error } = await scoped(async (db) => {
      await db.queryAsync("select 1");
      await db.end();
      db.end(); // ignored: must not become an unhandled rejection
      return db.end().catch((e: unknown) => e);
    });
    expect(error).toBeUndefined();
    expectCode(value, "HDK_MYSQL_ENQUEUE_AFTER_QUIT");
  });
});

describe("teardown", () => {
  it("sends COM_QUIT without a call-site capture or mysqljs's own timer, leaving the connection's trace setting as it was", async () => {
    // Both cost CPU on every request and neither is ever seen: core bounds teardown and reports its errors itself.
    interface Enqueued {
      constructor: { name: string };
      _callSite: unknown;
      _timeout: unknown;
    }
    interface Internals {
      config: { trace: boolean };
      _protocol: { on(event: "enqueue", listener: (sequence: Enqueued) => void): void };
    }
    const quits: Array<{ callSite: unknown; timeout: unknown }> = [];
    const { value, error, events } = await scoped(async (db) => {
      const { config, _protocol } = db as unknown as Internals;
      // mysqljs emits 'enqueue' right after it captured the call site, before it runs the command.
      _protocol.on("enqueue", (sequence) => {
        if (sequence.constructor.name === "Quit")
          quits.push({ callSite: sequence._callSite, timeout: sequence._timeout });
      });
      await db.queryAsync("select 1");
      return config;
    });
    expect(error).toBeUndefined();
    expect(lifecycle(events)).toEqual(["connect", "teardown:closed"]);
    expect(quits).toEqual([{ callSite: null, timeout: 0 }]);
    expect(value?.trace).toBe(true);
  });
});

describe("promises", () => {
  it("queryAsync() resolves [results, fields]; end() without a callback returns a promise", async () => {
    const { value, error, events } = await scoped(async (db) => {
      const [rows, fields] = await db.queryAsync<Rows>("select ? as a, ? as b", [1, "x"]);
      const [ok] = await db.queryAsync<{ affectedRows: number }>("do 1");
      const ended = db.end();
      await ended;
      return {
        rows,
        names: (fields as FieldInfo[]).map((f) => f.name),
        ok: typeof ok.affectedRows,
        ended: ended instanceof Promise,
      };
    });
    expect(error).toBeUndefined();
    expect(value).toEqual({ rows: [{ a: 1, b: "x" }], names: ["a", "b"], ok: "number", ended: true });
    expect(lifecycle(events)).toEqual(["connect", "teardown:closed"]);
  });

  it("queryAsync() rejects with the database's own error unchanged (errno, sqlState)", async () => {
    const { error } = await scoped(async (db) => db.queryAsync("select * from no_such_table"));
    expect(isHyperdriveError(error)).toBe(false);
    expect(error).toMatchObject({ errno: 1146, sqlState: "42S02", code: "ER_NO_SUCH_TABLE" });
  });

  it("a query's error shows the code that called it: the handle adds two frames to mysqljs's call site", async () => {
    // mysqljs appends the stack it captured when the query was queued (`trace: true`, the default) after a line of
    // dashes. Workers keep 10 frames: with the handle's helpers, Promise executors and its own frames in between, the
    // caller's frame would be cut off (and each frame costs CPU per query).
    async function callerOfQueryAsync(db: MysqlConnection) {
      return db.queryAsync("SELEC broken");
    }
    const { error } = await scoped(callerOfQueryAsync);
    const callSite = String((error as Error).stack).split("--------------------")[1] ?? "";
    const frames = callSite.trim().split("\n");
    expect(frames[0]).toContain("Protocol._enqueue");
    expect(frames[1]).toContain("Connection.query");
    expect(frames.findIndex((frame) => frame.includes("callerOfQueryAsync"))).toBe(4);
  });
});

describe("object bind values", () => {
  it("with allowUnsafe, expands an object in any position into `key` = value pairs, as the refusal says", async () => {
    // `select ? as v` becomes `select \`a\` = 1 as v`: the object rewrote the expression.
    const { error } = await scoped(async (db) => ask(db, "select ? as v", [{ a: 1 }]), {
      allowUnsafe: ["objectValues"],
    });
    expect(error).toMatchObject({ errno: 1054, code: "ER_BAD_FIELD_ERROR" });
    expect((error as Error).message).toContain("Unknown column 'a'");
  });

  it("with a custom queryFormat, checks the named values it receives", async () => {
    const queryFormat = (sql: string, values: Record<string, unknown>) =>
      sql.replace(/:(\w+)/g, (_m, name: string) => (name in values ? `'${String(values[name])}'` : _m));
    const { error } = await scoped(async (db) => ask(db, "select :p", { p: injection }), { client: { queryFormat } });
    expectCode(error, "HDK_UNSAFE_BIND_VALUE");
    const allowed = await scoped(async (db) => ask(db, "select :p as p", { p: "fine" }), { client: { queryFormat } });
    expect(allowed.value).toEqual([{ p: "fine" }]);
  });

  it("accepts primitives, lists for IN (?), bulk rows, Date, Buffer, null and raw()", async () => {
    const { value, error } = await scoped(async (db) => {
      await ask(db, "create temporary table t (a int, b varchar(10), c varbinary(8), d datetime)");
      await ask(db, "insert into t (a, b, c, d) values ?", [
        [
          [1, "one", Buffer.from("x"), new Date(Date.UTC(2025, 0, 2, 3, 4, 5))],
          [2, null, Buffer.from("y"), null],
        ],
      ]);
      return ask(db, "select a, b, hex(c) as c from t where a in (?) and a < ? order by a", [[1, 2, 3], raw("10")]);
    });
    expect(error).toBeUndefined();
    expect(value).toEqual([
      { a: 1, b: "one", c: "78" },
      { a: 2, b: null, c: "79" },
    ]);
  });
});

describe("errors from the seed's mysql table, against the real server", () => {
  it("query after end(): HDK_MYSQL_ENQUEUE_AFTER_QUIT", async () => {
    const { error, events } = await scoped(async (db) => {
      await ask(db, "select 1");
      await db.end();
      return ask(db, "select 1");
    });
    expectCode(error, "HDK_MYSQL_ENQUEUE_AFTER_QUIT");
    expect((error as Error).message).toContain("Cannot enqueue Query after invoking quit.");
    expect(lifecycle(events).at(-1)).toBe("teardown:closed");
  });

  it("KILL while idle: reported as HDK_MYSQL_CONNECTION_LOST, never thrown; the next query is HDK_MYSQL_ENQUEUE_AFTER_FATAL", async () => {
    const { value, error, events } = await scoped(async (db, seen) => {
      const id = await connectionId(db);
      await scoped(async (admin) => admin.queryAsync(`kill ${id}`), { binding: "ADMIN" });
      const idle = await errorEvent(seen);
      return { idle, next: await ask(db, "select 1").catch((e: unknown) => e) };
    });
    expect(error).toBeUndefined();
    expect(value?.idle?.type === "error" && value.idle.error.code).toBe("HDK_MYSQL_CONNECTION_LOST");
    expectCode(value?.next, "HDK_MYSQL_ENQUEUE_AFTER_FATAL");
    expect(lifecycle(events).at(-1)).toBe("teardown:closed");
  });

  it("classify() maps the raw driver errors behind each row, HANDSHAKE_TWICE included (no handle involved)", async () => {
    const twice = rawConnection(bindings.HYPERDRIVE);
    await new Promise<void>((resolve, reject) => twice.connect((e) => (e ? reject(e) : resolve())));
    const handshakeTwice = await new Promise((resolve) => twice.connect((e) => resolve(e)));
    const afterQuit = await new Promise((resolve) => {
      twice.end();
      twice.query("select 1", (e) => resolve(e));
    });

    const killed = rawConnection(bindings.HYPERDRIVE);
    killed.on("error", () => {}); // the raw driver emits the idle failure here
    const [row] = await ask(killed, "select connection_id() as id");
    const busy = ask(killed, "select sleep(30)").catch((e: unknown) => e);
    await killWhileSleeping(driver, row?.id as number);
    const lost = await busy;
    const afterFatal = await ask(killed, "select 1").catch((e: unknown) => e);

    expect([handshakeTwice, afterQuit, lost, afterFatal].map((e) => (e as { code?: unknown }).code)).toEqual([
      "PROTOCOL_ENQUEUE_HANDSHAKE_TWICE",
      "PROTOCOL_ENQUEUE_AFTER_QUIT",
      "PROTOCOL_CONNECTION_LOST",
      "PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR",
    ]);
    expect([handshakeTwice, afterQuit, lost, afterFatal].map((e) => (classify(e) as { code?: unknown }).code)).toEqual([
      "HDK_MYSQL_HANDSHAKE_TWICE",
      "HDK_MYSQL_ENQUEUE_AFTER_QUIT",
      "HDK_MYSQL_CONNECTION_LOST",
      "HDK_MYSQL_ENQUEUE_AFTER_FATAL",
    ]);
  });
});
