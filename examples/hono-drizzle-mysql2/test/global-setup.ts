import type { TestProject } from "vitest/node";
import { startSeededMariadb } from "../scripts/database.ts";

export default async function setup(project: TestProject) {
  const server = await startSeededMariadb();
  project.provide("databaseUrl", server.url);
  return () => server.stop();
}

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}
