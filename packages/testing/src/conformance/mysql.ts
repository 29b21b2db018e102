/**
 * The cases mysql and mysql2 share, asserted on the drivers' own causes (both speak mysqljs's error codes): unsafe
 * options and object bind values refused before anything is sent, a KILL mid-query, and the connect failures. Each adapter's test file calls it
 * with its own `scoped` and its own way of running a query.
 */
import { expect, it } from "vitest";
import type { FaultExpectations } from "./faults.ts";
import { bindings, lifecycle, type scopedRunner } from "./scoped.ts";
import { expectCode } from "./suite.ts";

type Rows = Array<Record<string, unknown>>;

/** Where each real fault ends for both MySQL drivers: they share mysqljs's error codes, so the same entries. */
export const mysqlFaultExpectations: FaultExpectations = {
  engine: "mysql",
  killedMidQuery: ["HDK_MYSQL_CONNECTION_LOST"],
  // A server that stops closes its connections (PROTOCOL_CONNECTION_LOST) or, killed, resets them (ECONNRESET): both
  // a lost connection.
  stoppedMidQuery: ["HDK_MYSQL_CONNECTION_LOST", "HDK_CONNECTION_LOST"],
  // Early in the handshake: refused; inside the query's answer, on an established connection: lost.
  reset: ["HDK_CONNECT_REFUSED", "HDK_MYSQL_CONNECTION_LOST", "HDK_CONNECTION_LOST"],
  refused: ["HDK_CONNECT_REFUSED"],
};

export interface MysqlDriverUnderTest<Db> {
  /** The adapter's `scopedRunner`. */
  scoped: ReturnType<typeof scopedRunner<Db>>;
  /** Runs one statement on the handle the way the driver's users do, and returns its rows. */
  query(db: Db, sql: string, values?: unknown): Promise<Rows>;
  /** Every way the driver's API can pass an object as a bind value; each must be refused. */
  objectValueCases: Array<[name: string, run: (db: Db) => Promise<unknown>]>;
  /** Words of the refusal that say what this driver itself does with an object bound to `?`. */
  objectValueBehaviour: string;
}

/** Waits until the server runs `SLEEP()` on connection `id`, then kills that connection from ADMIN. */
/**
 * COM_STMT_PREPARE messages the server has received since it started (what Hyperdrive refuses), read through the
 * ADMIN binding with a runner over the mysql2 adapter's `withHyperdrive`. Tests compare it around a path: unchanged
 * means nothing was prepared.
 */
export async function stmtPrepares(adminScoped: ReturnType<typeof scopedRunner>): Promise<number> {
  const { value, error } = await adminScoped(
    async (db: { query(sql: string): Promise<[Array<{ Value: string }>]> }) =>
      (await db.query("show global status like 'Com_stmt_prepare'"))[0],
    { binding: "ADMIN" },
  );
  if (error) throw error;
  return Number((value as Array<{ Value: string }>)[0]?.Value);
}

export async function killWhileSleeping<Db>(driver: MysqlDriverUnderTest<Db>, id: number): Promise<void> {
  const { error } = await driver.scoped(
    async (admin) => {
      for (;;) {
        const [row] = await driver.query(admin, "select state from information_schema.processlist where id = ?", [id]);
        if (row?.state === "User sleep") break;
      }
      await driver.query(admin, `kill ${id}`);
    },
    { binding: "ADMIN" },
  );
  if (error) throw error;
}

export function describeMysqlCases<Db>(driver: MysqlDriverUnderTest<Db>): void {
  const { scoped, query } = driver;

  it("refuses multipleStatements: true with HDK_UNSAFE_OPTION, before connecting", async () => {
    const { error, events } = await scoped(async (db) => query(db, "select 1; select 2"), {
      client: { multipleStatements: true },
    });
    expectCode(error, "HDK_UNSAFE_OPTION");
    expect((error as Error).message).toContain("Hyperdrive does not support multi-statement queries");
    expect((error as Error).message).toContain('allowUnsafe: ["multipleStatements"]');
    expect(lifecycle(events)).toEqual([]); // refused while attaching: no client, so nothing to tear down
  });

  it("refuses ssl: the Worker-to-Hyperdrive hop never uses TLS", async () => {
    const { error } = await scoped(async (db) => query(db, "select 1"), { client: { ssl: {} } });
    expectCode(error, "HDK_UNSAFE_OPTION");
    // The catalogue's fix promises the message names the safe value.
    expect((error as Error).message).toContain("the safe value is `false`");
  });

  it.each(driver.objectValueCases)(
    "refuses %s as a bind value with HDK_UNSAFE_BIND_VALUE before anything is sent",
    async (_name, run) => {
      const { error, events } = await scoped(run);
      expectCode(error, "HDK_UNSAFE_BIND_VALUE");
      expect((error as Error).message).toContain('allowUnsafe: ["objectValues"]');
      expect((error as Error).message).toContain("object injection");
      // What this driver does with the object, not the other one's behaviour.
      expect((error as Error).message).toContain(driver.objectValueBehaviour);
      // Refused before the first command, so the lazy connection never even opened.
      expect(lifecycle(events)).toEqual(["teardown:closed"]);
    },
  );

  it("with allowUnsafe objectValues, lets `SET ?` take an object", async () => {
    const { value, error } = await scoped(
      async (db) => {
        await query(db, "create temporary table t (a int, b varchar(10))");
        await query(db, "insert into t set ?", { a: 7, b: "seven" });
        return query(db, "select a, b from t");
      },
      { allowUnsafe: ["objectValues"] },
    );
    expect(error).toBeUndefined();
    expect(value).toEqual([{ a: 7, b: "seven" }]);
  });

  it("a missing database, for a user granted on its own database only (1044): HDK_CONFIG_DATABASE_NOT_FOUND naming both causes", async () => {
    // The test user has ALL on its database and no global data privilege: MariaDB answers 1044, not 1049.
    const { error } = await scoped(async (db) => query(db, "select 1"), { binding: "BAD_DATABASE" });
    expectCode(error, "HDK_CONFIG_DATABASE_NOT_FOUND");
    expect(((error as Error).cause as { errno?: unknown }).errno).toBe(1044);
    expect((error as Error).message).toContain("does not exist");
    expect((error as Error).message).toContain("GRANT ALL ON <database>.* TO <user>");
  });

  it("KILL during a query: HDK_MYSQL_CONNECTION_LOST (PROTOCOL_CONNECTION_LOST)", async () => {
    const { error, events } = await scoped(async (db) => {
      const [row] = await query(db, "select connection_id() as id");
      const busy = query(db, "select sleep(30)");
      busy.catch(() => {}); // it rejects while we wait for the kill; returned (and so awaited) below
      // Kill only once the server is running the sleep, so the query itself loses its connection.
      await killWhileSleeping(driver, row?.id as number);
      return busy;
    });
    expectCode(error, "HDK_MYSQL_CONNECTION_LOST");
    expect(((error as Error).cause as { code?: unknown }).code).toBe("PROTOCOL_CONNECTION_LOST");
    expect(lifecycle(events).at(-1)).toBe("teardown:closed");
  });

  it("database down: HDK_CONNECT_REFUSED", async () => {
    const { error, events } = await scoped(async (db) => query(db, "select 1"), { binding: "DOWN" });
    expectCode(error, "HDK_CONNECT_REFUSED");
    expect(lifecycle(events).at(-1)).toBe("teardown:closed");
  });

  it("database that never answers: HDK_TIMEOUT after the driver's own connectTimeout, armed at the first query", async () => {
    const { error, events } = await scoped(async (db) => query(db, "select 1"), {
      binding: "HANGS",
      client: { connectTimeout: 300 },
    });
    expectCode(error, "HDK_TIMEOUT");
    expect((error as Error).message).toContain("within 300 ms");
    expect(lifecycle(events)).toEqual(["connect", "teardown:closed"]);
    const connect = events.find((event) => event.type === "connect");
    expect((connect as { error?: { code?: string } }).error?.code).toBe("HDK_TIMEOUT");
  });

  it("wrong password: HDK_CONFIG_INVALID_CREDENTIALS, with no password in the error", async () => {
    const { error, events } = await scoped(async (db) => query(db, "select 1"), { binding: "BAD_PASSWORD" });
    expectCode(error, "HDK_CONFIG_INVALID_CREDENTIALS");
    expect(((error as Error).cause as { errno?: unknown }).errno).toBe(1045);
    const everything = JSON.stringify([String(error), (error as Error).cause, events]);
    expect(everything).not.toContain(bindings.BAD_PASSWORD.password);
    expect(lifecycle(events).at(-1)).toBe("teardown:closed");
  });
}
