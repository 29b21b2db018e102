/**
 * Vitest global setup shared by the adapter packages: a real database server, the faults in front of it (a proxy,
 * a fake Hyperdrive origin, a port nothing listens on), their control server, and the global-scope Worker.
 */
import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { TestProject } from "vitest/node";
import { startControlServer } from "./control.ts";
import { type FakeOrigin, startFakeMysqlOrigin, startFakePostgresOrigin } from "./fake-origin/index.ts";
import { type FaultProxy, startFaultProxy } from "./proxy/index.ts";
import { type RunningServer, refusedPort } from "./servers/index.ts";
import { randomPassword } from "./servers/postgres.ts";
import { COMPATIBILITY_DATE, COMPATIBILITY_FLAGS } from "./vitest-config.ts";

const run = promisify(execFile);

export type Engine = "postgres" | "mysql";

/** The Hyperdrive bindings every adapter's tests get, by name: each one a way for the database to be reached or fail. */
export type TestBindingName =
  /** The test database. */
  | "HYPERDRIVE"
  /** The same database, for the tests' own bookkeeping (connection counts, KILL), never a handle under test. */
  | "ADMIN"
  /** The database through the fault proxy, whose mode the tests switch (delay, blackhole, reset-after, refuse). */
  | "VIA_PROXY"
  /** The right server with a wrong (random) password. */
  | "BAD_PASSWORD"
  /** The right server, a database that does not exist. */
  | "BAD_DATABASE"
  /** A port nothing listens on: a database that is down. */
  | "DOWN"
  /** A proxy that accepts and never answers: a database that hangs. */
  | "HANGS"
  /** A fake origin that answers like Hyperdrive does when it fails (SQLSTATE 58000, MySQL's COM_STMT_PREPARE refusal). */
  | "FAKE_ORIGIN";

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
    hyperdrives: Record<TestBindingName, string>;
    /** The fault control server (`control.ts`). */
    controlUrl: string;
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
    // Stopped in reverse order, whatever failed.
    const cleanups: Array<() => Promise<void>> = [() => server.stop()];
    const teardown = async () => {
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    };
    try {
      const database = new URL(server.url);
      // Where nothing checks the password, each binding gets a secret of its own for the redaction tests to find.
      const local = (port: number, { password = randomPassword(), pathname = database.pathname } = {}) => {
        const url = new URL(database);
        url.hostname = "127.0.0.1";
        url.port = String(port);
        url.password = password;
        url.pathname = pathname;
        return url.toString();
      };
      const proxy: FaultProxy = await startFaultProxy({
        target: { host: database.hostname, port: Number(database.port) },
      });
      cleanups.push(() => proxy.close());
      const downPort = await refusedPort();
      const hangs = await startFaultProxy({
        target: { host: "127.0.0.1", port: downPort },
        mode: { kind: "blackhole" },
      });
      cleanups.push(() => hangs.close());
      const origin: FakeOrigin = await (engine === "postgres" ? startFakePostgresOrigin() : startFakeMysqlOrigin());
      cleanups.push(() => origin.close());
      const control = await startControlServer({ server, proxy, origin });
      cleanups.push(() => control.close());

      project.provide("databaseUrl", server.url);
      project.provide("hyperdrives", {
        HYPERDRIVE: server.url,
        ADMIN: server.url,
        VIA_PROXY: local(proxy.port, { password: database.password }),
        BAD_PASSWORD: local(Number(database.port)),
        BAD_DATABASE: local(Number(database.port), { password: database.password, pathname: "/no_such_database" }),
        DOWN: local(downPort),
        HANGS: local(hangs.port),
        FAKE_ORIGIN: local(origin.port),
      });
      project.provide("controlUrl", control.url);
      project.provide("globalScopeScript", await bundleWorker(fileURLToPath(globalScopeEntry)));
    } catch (error) {
      await teardown();
      throw error;
    }
    return async () => {
      await teardown();
      // A safety net, not the cure: a socket handle Node never closes (the fault proxy once leaked them through
      // a failed RST) makes the process spin at exit after all tests passed. process.exit() keeps Vitest's exit
      // code.
      setTimeout(() => process.exit(), EXIT_GRACE_MS);
    };
  };
}

/** Longer than Vitest needs to report after the global teardown. */
const EXIT_GRACE_MS = 5_000;

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
