/**
 * `pnpm demo`: starts a throwaway MariaDB (the system's `mariadbd`, see @hyperdrive-kit/testing), seeds it, and runs
 * this Worker with `wrangler dev`, pointing the Hyperdrive binding at it. Ctrl-C stops both.
 */
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { startMariadb } from "@hyperdrive-kit/testing/servers";
import mysql from "mysql2/promise";

const port = Number(process.env.PORT ?? 8787);
console.log("Starting a throwaway MariaDB…");
const server = await startMariadb();
const db = await mysql.createConnection({ uri: server.url, multipleStatements: true });
await db.query(await readFile(new URL("./seed.sql", import.meta.url), "utf8"));
await db.end();
console.log("Seeded the `todos` table.");

const wrangler = spawn("pnpm", ["exec", "wrangler", "dev", "--port", String(port), "--ip", "127.0.0.1"], {
  stdio: ["inherit", "pipe", "inherit"],
  env: { ...process.env, CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE: server.url },
});
let announced = false;
wrangler.stdout.on("data", (chunk: Buffer) => {
  process.stdout.write(chunk);
  if (!announced && chunk.toString().includes("Ready on")) {
    announced = true;
    console.log(`\n  Open http://127.0.0.1:${port}/todos  (also /?name=you)\n`);
  }
});

const stop = async () => {
  wrangler.kill("SIGTERM");
  await server.stop();
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
wrangler.on("exit", async (code) => {
  await server.stop();
  process.exit(code ?? 0);
});
