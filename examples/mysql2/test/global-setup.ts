import { readFile } from "node:fs/promises";
import { freePort, startMariadb } from "@hyperdrive-kit/testing/servers";
import mysql from "mysql2/promise";
import type { TestProject } from "vitest/node";

export default async function setup(project: TestProject) {
  const server = await startMariadb();
  // From Node, straight to the database: several statements in one query are fine here (not through Hyperdrive).
  const db = await mysql.createConnection({ uri: server.url, multipleStatements: true });
  await db.query(await readFile(new URL("../scripts/seed.sql", import.meta.url), "utf8"));
  await db.end();
  project.provide("databaseUrl", server.url);
  project.provide("downPort", await freePort());
  return () => server.stop();
}

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
    /** A port nothing listens on. */
    downPort: number;
  }
}
