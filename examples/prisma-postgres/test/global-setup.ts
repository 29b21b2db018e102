import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { startPostgres } from "@hyperdrive-kit/testing/servers";
import pg from "pg";
import type { TestProject } from "vitest/node";

export default async function setup(project: TestProject) {
  execFileSync(process.execPath, [new URL("../scripts/generate.ts", import.meta.url).pathname], { stdio: "inherit" });
  const server = await startPostgres();
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  await client.query(await readFile(new URL("../scripts/seed.sql", import.meta.url), "utf8"));
  await client.end();
  project.provide("databaseUrl", server.url);
  return () => server.stop();
}

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}
