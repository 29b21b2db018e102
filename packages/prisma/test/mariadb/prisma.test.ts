import { Socket } from "node:net";
import { findHyperdriveError } from "@hyperdrive-kit/core";
import { withHyperdrive } from "@hyperdrive-kit/mysql2";
import { describeFaults } from "@hyperdrive-kit/testing/faults";
import { mysqlFaultExpectations, stmtPrepares } from "@hyperdrive-kit/testing/mysql";
import { isRuntimeSocketLoss } from "@hyperdrive-kit/testing/runtime-socket-loss";
import { bindings, describeConformance, scopedRunner } from "@hyperdrive-kit/testing/suite";
import { PrismaMariaDb } from "@prisma/adapter-mariadb";
import { createPool } from "mariadb";
import { describe, expect, inject, it } from "vitest";
import { PrismaClient } from "../../.generated/mariadb/client.ts";
import { withPrisma } from "../../src/mariadb.ts";
import { createTables, describePrismaCases, everyPath, PATHS, type Prisma, type Scoped, value } from "../cases.ts";

const scoped = scopedRunner((env, ctx, fn, options) =>
  withPrisma(env, ctx, fn as never, { ...(options as object | undefined), PrismaClient }),
) as Scoped;
const adminScoped = scopedRunner(withHyperdrive as never);

const prepares = () => stmtPrepares(adminScoped);

/** Waits (bounded) until a connection runs `do sleep(…)`, as seen from ADMIN. */
async function whenSleeping(): Promise<void> {
  const { error } = await adminScoped(
    async (admin: { query(sql: string): Promise<[Array<{ id: number }>]> }) => {
      for (let i = 0; i < 500; i++) {
        const [rows] = await admin.query(
          "select id from information_schema.processlist where state = 'User sleep' and info like 'do sleep%'",
        );
        if (rows.length > 0) return;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      throw new Error("no connection ran the set-up statement");
    },
    { binding: "ADMIN" },
  );
  if (error) throw error;
}

/** TCP RST on every connection through the fault proxy, both sides. */
async function resetProxied(): Promise<void> {
  const response = await fetch(`${inject("controlUrl")}/proxy/mode`, {
    method: "POST",
    body: JSON.stringify({ mode: { kind: "pass" }, resetAll: true }),
  });
  if (!response.ok) throw new Error(`fault control: ${response.status}`);
}

describe("Prisma on @prisma/adapter-mariadb (the request's own mariadb connections, text protocol)", () => {
  createTables(scoped, [
    "drop table if exists prisma_books, prisma_authors",
    "create table prisma_authors (id int auto_increment primary key, name varchar(64) not null unique)",
    "create table prisma_books (id int auto_increment primary key, title varchar(191) not null, author_id int not null, foreign key (author_id) references prisma_authors (id))",
  ]);
  describeConformance();
  describe("under real faults", () => describeFaults(mysqlFaultExpectations));
  describe("what users do", () => describePrismaCases(scoped));

  describe("a connection that fails after authentication, while the driver still sets it up", () => {
    // The `mariadb` driver sends its set-up statements (SET NAMES, initSql…) after the handshake, and a connection lost
    // there rejected a promise inside the driver that nothing handles (the soak's HDK_TIMEOUT and SqlError 45009).
    // `initSql: "do sleep(…)"` holds the connection in that phase the way a loaded machine or a slow server does.
    const unhandled: unknown[] = [];
    // workerd's own rejection on a socket lost during a read is counted apart, as everywhere (runtime-socket-loss.ts).
    const record = (event: PromiseRejectionEvent) => {
      if (!isRuntimeSocketLoss(event.reason)) unhandled.push(event.reason);
    };
    const setUp = async <T>(run: () => Promise<T>): Promise<T> => {
      unhandled.length = 0;
      addEventListener("unhandledrejection", record);
      try {
        const result = await run();
        await new Promise((resolve) => setTimeout(resolve, 200)); // the driver's rejections land a few ticks later
        return result;
      } finally {
        removeEventListener("unhandledrejection", record);
      }
    };
    const rendered = () => unhandled.map((reason) => String((reason as Error)?.message ?? reason));

    it("ends in HDK_TIMEOUT at connectTimeoutMs, with nothing unhandled", async () => {
      const { error } = await setUp(() =>
        scoped(async (prisma) => prisma.$queryRawUnsafe("select 1"), {
          client: { initSql: "do sleep(2)" },
          connectTimeoutMs: 300,
        }),
      );
      expect(findHyperdriveError(error)?.code).toBe("HDK_TIMEOUT");
      expect(rendered()).toEqual([]);
    });

    it("ends in a typed connection error when the connection is reset there, with nothing unhandled", async () => {
      const { error } = await setUp(async () => {
        const running = scoped(async (prisma) => prisma.$queryRawUnsafe("select 1"), {
          binding: "VIA_PROXY",
          client: { initSql: "do sleep(5)" },
        });
        await whenSleeping();
        await resetProxied();
        return running;
      });
      // Prisma's adapter opens two connections here (its version check, then the query); the reset may land on one
      // or both, and a version check that fails is Prisma's to ignore: either way, nothing else.
      if (error !== undefined) expect(findHyperdriveError(error)).toMatchObject({ category: "connection" });
      expect(rendered()).toEqual([]);
    });
  });

  it("waits for one connect bound per request, not one per query: Prisma's version check and the query share it", async () => {
    // @prisma/adapter-mariadb first asks SELECT VERSION() and ignores its failure; the query then opened a second
    // connection and the request waited twice connectTimeoutMs (the soak's requests past their bound).
    const { error, events } = await scoped(async (prisma) => prisma.author.count(), {
      binding: "HANGS",
      connectTimeoutMs: 500,
    });
    expect(findHyperdriveError(error)?.code).toBe("HDK_TIMEOUT");
    expect(events.filter((event) => event.type === "connect")).toHaveLength(1);
  });

  it("queues queries beyond connectionLimit on the request's connections, and opens no more", async () => {
    const {
      value: result,
      error,
      events,
    } = await scoped(
      async (prisma) =>
        Promise.all([
          prisma.author.count(),
          prisma.$transaction(async (tx: Prisma) => tx.author.count()),
          prisma.$queryRawUnsafe<Array<{ one: unknown }>>("select 1 as one"),
        ]),
      { connectionLimit: 1 },
    );
    expect(error).toBeUndefined();
    expect(result?.[2]).toEqual([{ one: 1 }]);
    expect(events.filter((event) => event.type === "connect")).toHaveLength(1);
  });

  describe("nothing Hyperdrive refuses", () => {
    it("sends no COM_STMT_PREPARE on any Prisma path", async () => {
      const before = await prepares();
      const result = await value(scoped((prisma) => everyPath(prisma)));
      const sent = (await prepares()) - before;
      console.log(`[prisma] COM_STMT_PREPARE sent by every Prisma path through withPrisma: ${sent}`);
      expect(sent).toBe(0);
      expect(result.interactive).toBe(1);
    });

    it("sends no COM_STMT_PREPARE on each Prisma path, counted one request at a time", async () => {
      const counts: string[] = [];
      for (const [name, run] of PATHS) {
        const before = await prepares();
        await value(scoped(run));
        const sent = (await prepares()) - before;
        counts.push(`${name}: ${sent}`);
        expect.soft(sent, name).toBe(0);
      }
      console.log(`[prisma] COM_STMT_PREPARE per path:\n  ${counts.join("\n  ")}`);
    });

    it("control: the same paths through PrismaMariaDb's default (binary) protocol do send COM_STMT_PREPARE", async () => {
      const { host, port, user, password, database } = bindings.HYPERDRIVE;
      const pool = createPool({
        host,
        port,
        user,
        password,
        database,
        connectionLimit: 2,
        stream: () => new Socket().connect({ host, port }),
      });
      const prisma = new PrismaClient({ adapter: new PrismaMariaDb(pool) }) as unknown as Prisma;
      try {
        const before = await prepares();
        await everyPath(prisma);
        const sent = (await prepares()) - before;
        console.log(`[prisma] COM_STMT_PREPARE sent by the same paths on the binary protocol: ${sent}`);
        expect(sent).toBeGreaterThan(0);
      } finally {
        await prisma.$disconnect();
        await pool.end();
      }
    });

    it("refuses useTextProtocol: false before sending anything", async () => {
      const { error } = await scoped(async (prisma) => prisma.author.count(), {
        adapterOptions: { useTextProtocol: false },
      });
      expect((error as { code?: unknown }).code).toBe("HDK_HYPERDRIVE_MYSQL_PREPARE_UNSUPPORTED");
    });
  });
});
