/**
 * `pnpm demo`: starts a throwaway MariaDB (the system's `mariadbd`, see @hyperdrive-kit/testing), seeds it, and runs
 * this Worker with `wrangler dev`, pointing the Hyperdrive binding at it. Ctrl-C stops both and deletes the database.
 */
import { runWranglerDev } from "@hyperdrive-kit/testing/demo";
import { startSeededMariadb } from "./database.ts";

console.log("Starting a throwaway MariaDB…");
const server = await startSeededMariadb();
console.log("Seeded the `notes` table.");
await runWranglerDev(server, {
  paths: "/notes  (also /notes/1, /notes/export and POST /notes)",
  vars: { EXPOSE_ERROR_FIX: "true" },
});
