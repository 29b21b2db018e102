import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { withHyperdrive } from "@hyperdrive-kit/mysql2";
import { describeNotesWorker, get, type Note, post } from "@hyperdrive-kit/testing/notes-example";
import { createConnection, type RowDataPacket } from "mysql2/promise";
import { describe, expect, it } from "vitest";
import app from "../src/index.ts";

/** Runs one query on the tests' own binding (ADMIN, the same database) through a request-scoped handle. */
async function admin(sql: string): Promise<RowDataPacket[]> {
  const ctx = createExecutionContext();
  const rows = await withHyperdrive(env, ctx, async (db) => (await db.query<RowDataPacket[]>(sql))[0], {
    binding: "ADMIN",
  });
  await waitOnExecutionContext(ctx);
  return rows;
}

/** Client connections the server holds to the test database, not counting the one asking. */
const connections = async () =>
  Number(
    (
      await admin(
        "select count(*) as n from information_schema.processlist where db = database() and id <> connection_id()",
      )
    )[0]?.n,
  );

/** COM_STMT_PREPARE messages the server has received since it started: what Hyperdrive refuses. */
const prepares = async () => Number((await admin("show global status like 'Com_stmt_prepare'"))[0]?.Value);

describe("Hono + Drizzle on MySQL (mysql2)", () => {
  // MySQL has no RETURNING: an insert, then a read of the new row.
  describeNotesWorker({
    connections,
    firstTitle: "Create the connection inside the handler",
    createQueries: "2 queries",
    app,
  });

  it("sends no COM_STMT_PREPARE to the server on any route", async () => {
    const before = await prepares();
    const created = await post("/notes", { title: "Prepared? No." });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as Note;
    for (const path of ["/notes", `/notes/${id}`, "/notes/999999", "/notes/export", "/mistakes/kept-db"]) {
      await (await get(path)).arrayBuffer();
    }
    expect(await prepares()).toBe(before);
  });

  it("control: the counter moves when a raw mysql2 connection prepares a statement", async () => {
    const { host, port, user, password, database } = (env as unknown as { ADMIN: Hyperdrive }).ADMIN;
    const raw = await createConnection({ host, port, user, password, database, disableEval: true });
    try {
      const before = await prepares();
      await raw.execute("select ? as one", [1]);
      expect(await prepares()).toBeGreaterThan(before);
    } finally {
      await raw.end();
    }
  });
});
