import { checkReadmeShows } from "@hyperdrive-kit/testing/readme";
import type { TestProject } from "vitest/node";
import { startSeededMariadb } from "../scripts/database.ts";

export default async function setup(project: TestProject) {
  await checkReadmeShows(new URL("..", import.meta.url), ["src/index.ts", "src/schema.ts"]);
  const server = await startSeededMariadb();
  project.provide("databaseUrl", server.url);
  return () => server.stop();
}

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}
