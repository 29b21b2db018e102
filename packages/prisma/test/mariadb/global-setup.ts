import { setupDatabase } from "@hyperdrive-kit/testing/setup";
import type { TestProject } from "vitest/node";
import { generate } from "../generate.ts";

const database = setupDatabase({ engine: "mysql", globalScopeEntry: new URL("./global-scope.ts", import.meta.url) });

export default async function setup(project: TestProject) {
  await generate(["mariadb"]);
  return database(project);
}
