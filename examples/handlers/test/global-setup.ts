import { readFile } from "node:fs/promises";
import { startPostgres } from "@hyperdrive-kit/testing/servers";
import postgres from "postgres";
import type { TestProject } from "vitest/node";

export default async function setup(project: TestProject) {
  const server = await startPostgres();
  const sql = postgres(server.url, { max: 1, onnotice: () => {} });
  await sql.unsafe(await readFile(new URL("../scripts/schema.sql", import.meta.url), "utf8"));
  await sql.end();
  project.provide("databaseUrl", server.url);
  return () => server.stop();
}

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}
