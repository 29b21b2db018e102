import { startFakeMysqlOrigin } from "@hyperdrive-kit/testing/fake-origin";
import { startFaultProxy } from "@hyperdrive-kit/testing/proxy";
import { freePort } from "@hyperdrive-kit/testing/servers";
import { setupDatabase } from "@hyperdrive-kit/testing/setup";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** A fake origin that answers like Hyperdrive: COM_QUERY with an error, COM_STMT_PREPARE with its refusal. */
    fakeOriginPort: number;
    /** A port nothing listens on: a database that is down. */
    downPort: number;
    /** A proxy that accepts connections and never answers: a database that hangs. */
    blackholePort: number;
  }
}

const database = setupDatabase({ engine: "mysql", globalScopeEntry: new URL("./global-scope.ts", import.meta.url) });

export default async function setup(project: TestProject) {
  const stopDatabase = await database(project);
  const origin = await startFakeMysqlOrigin();
  project.provide("fakeOriginPort", origin.port);
  const downPort = await freePort();
  project.provide("downPort", downPort);
  const blackhole = await startFaultProxy({
    target: { host: "127.0.0.1", port: downPort },
    mode: { kind: "blackhole" },
  });
  project.provide("blackholePort", blackhole.port);
  return async () => {
    await blackhole.close();
    await origin.close();
    await stopDatabase();
  };
}
