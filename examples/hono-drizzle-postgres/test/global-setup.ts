import type { TestProject } from "vitest/node";
import { startSeededPostgres } from "../scripts/database.ts";

export default async function setup(project: TestProject) {
  const server = await startSeededPostgres();
  project.provide("databaseUrl", server.url);
  return () => server.stop();
}

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}
