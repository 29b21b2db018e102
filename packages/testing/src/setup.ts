/** Vitest global setup shared by the adapter packages: a real database server and the global-scope Worker. */
import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { TestProject } from "vitest/node";
import type { RunningServer } from "./servers/postgres.ts";
import { COMPATIBILITY_DATE, COMPATIBILITY_FLAGS } from "./vitest-config.ts";

const run = promisify(execFile);

export type Engine = "postgres" | "mysql";

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
    globalScopeScript: string;
  }
}

export interface SetupOptions {
  engine: Engine;
  /** A module whose default export is a Worker that misuses the adapter at global scope. */
  globalScopeEntry: URL;
}

export function setupDatabase({ engine, globalScopeEntry }: SetupOptions) {
  return async (project: TestProject) => {
    const server: RunningServer =
      engine === "postgres"
        ? await (await import("./servers/postgres.ts")).startPostgres()
        : await (await import("./servers/mariadb.ts")).startMariadb();
    try {
      project.provide("databaseUrl", server.url);
      project.provide("globalScopeScript", await bundleWorker(fileURLToPath(globalScopeEntry)));
    } catch (error) {
      await server.stop();
      throw error;
    }
    return () => server.stop();
  };
}

/** Bundles a Worker with wrangler itself (`deploy --dry-run`), exactly as a user's Worker is built. */
async function bundleWorker(entry: string): Promise<string> {
  // Inside the package: Miniflare resolves module paths below the working directory only.
  const outdir = join(process.cwd(), ".wrangler", "hdk");
  await mkdir(outdir, { recursive: true });
  const config = join(outdir, "wrangler.json");
  await writeFile(
    config,
    JSON.stringify({
      name: "hdk-global-scope",
      main: entry,
      compatibility_date: COMPATIBILITY_DATE,
      compatibility_flags: COMPATIBILITY_FLAGS,
    }),
  );
  const wrangler = join(dirname(createRequire(import.meta.url).resolve("wrangler/package.json")), "bin", "wrangler.js");
  try {
    await run(process.execPath, [wrangler, "deploy", "--dry-run", "--config", config, "--outdir", outdir], {
      timeout: 120_000,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    });
  } catch (error) {
    const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
    throw new Error(`Bundling ${entry} with wrangler failed:\n${stdout}\n${stderr}`, { cause: error });
  }
  return join(outdir, basename(entry).replace(/\.ts$/, ".js"));
}
