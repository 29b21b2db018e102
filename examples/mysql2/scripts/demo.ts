/**
 * `pnpm demo`: starts a throwaway MariaDB (the system's `mariadbd`, see @hyperdrive-kit/testing), seeds it, and runs
 * this Worker with `wrangler dev`, pointing the Hyperdrive binding at it. Ctrl-C stops both.
 */
import { readFile } from "node:fs/promises";
import { runWranglerDev } from "@hyperdrive-kit/testing/demo";
import { startMariadb } from "@hyperdrive-kit/testing/servers";
import mysql from "mysql2/promise";

console.log("Starting a throwaway MariaDB…");
const server = await startMariadb();
const db = await mysql.createConnection({ uri: server.url, multipleStatements: true });
await db.query(await readFile(new URL("./seed.sql", import.meta.url), "utf8"));
await db.end();
console.log("Seeded the `todos` table.");

await runWranglerDev(server, { paths: "/todos  (also /?name=you)" });
