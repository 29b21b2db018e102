/** A throwaway MariaDB (the system's `mariadbd`), seeded from seed.sql: for `pnpm demo` and the tests. */
import { readFile } from "node:fs/promises";
import { type RunningServer, startMariadb } from "@hyperdrive-kit/testing/servers";
import mysql from "mysql2/promise";

export async function startSeededMariadb(): Promise<RunningServer> {
  const server = await startMariadb();
  try {
    // From Node, straight to the database: several statements in one query are fine here (not through Hyperdrive).
    const db = await mysql.createConnection({ uri: server.url, multipleStatements: true });
    await db.query(await readFile(new URL("./seed.sql", import.meta.url), "utf8")).finally(() => db.end());
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}
