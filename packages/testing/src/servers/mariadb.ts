import { type ChildProcess, execFile, spawn } from "node:child_process";
import { accessSync, constants, existsSync, rmSync } from "node:fs";
import { chown, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import mysql from "mysql2/promise";
import { freePort } from "./free-port.ts";
import { externalServer, type RunningServer, randomPassword } from "./postgres.ts";

const HOW_TO_GET_ONE =
  "The tests start a throwaway MariaDB from the system's `mariadbd` and `mariadb-install-db` " +
  "(on Debian/Ubuntu: `apt-get install mariadb-server`), " +
  "or use the server named by HDK_MYSQL_URL, e.g. HDK_MYSQL_URL=mysql://user:password@127.0.0.1:3306/db " +
  "(user, password and database are all required by Miniflare).";

const USER = "hdk";
const DATABASE = "hdk";
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 20_000;

export interface MariadbOptions {
  /** More server options (`--ssl-cert=…`, for example). */
  flags?: readonly string[];
  /** Runs once as root after the test user exists: more accounts, grants. */
  setup?: (root: mysql.Connection) => Promise<void>;
  /** Random bytes in the password (hex-encoded), 12 by default: the soak uses long ones. */
  passwordBytes?: number;
}

/**
 * A MySQL-compatible server for tests: the one named by HDK_MYSQL_URL, or a throwaway MariaDB on a free port
 * with a fresh data directory. Never skips: when neither works, it throws with instructions. A server with
 * `options` is always a throwaway one.
 */
export async function startMariadb(options: MariadbOptions = {}): Promise<RunningServer> {
  const given = process.env.HDK_MYSQL_URL;
  if (given && !options.flags && !options.setup && !options.passwordBytes)
    return externalServer(given, "HDK_MYSQL_URL");
  const flags = options.flags ?? [];
  const password = randomPassword(options.passwordBytes);

  const bin = await findOrInstallBinaries();
  // mariadbd refuses to run as root; as root it switches to `mysql`, which must own the data directory.
  const owner = process.getuid?.() === 0 ? await mysqlUser() : undefined;
  const dir = await mkdtemp(join(tmpdir(), "hdk-mysql-"));
  let child: ChildProcess | undefined;
  const onExit = () => {
    // Last resort when the test process dies without calling stop(): no stray servers, no stray data.
    child?.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", onExit);
  try {
    if (owner) await chown(dir, owner.uid, owner.gid);
    const datadir = join(dir, "data");
    await run(
      bin.installDb,
      [
        "--no-defaults",
        `--datadir=${datadir}`,
        "--auth-root-authentication-method=normal",
        "--skip-test-db",
        ...(owner ? ["--user=mysql"] : []),
      ],
      60_000,
    );
    const onSpawn = (spawned: ChildProcess) => {
      child = spawned;
    };
    let started = await launch(bin.server, dir, datadir, owner !== undefined, onSpawn, undefined, flags);
    const socketPath = join(dir, "mysqld.sock");
    const root = await mysql.createConnection({ socketPath, user: "root", connectTimeout: 5_000 });
    try {
      await root.query(`CREATE DATABASE ${DATABASE}`);
      for (const host of ["%", "localhost"]) {
        const account = `'${USER}'@'${host}'`;
        // mysql_native_password, not ed25519 or caching_sha2: the legacy `mysql` npm driver only speaks this one.
        await root.query(`CREATE USER ${account} IDENTIFIED VIA mysql_native_password USING PASSWORD('${password}')`);
        await root.query(`GRANT ALL PRIVILEGES ON ${DATABASE}.* TO ${account}`);
        // PROCESS lets leak checks see every thread in SHOW PROCESSLIST; KILL of the same user's
        // connections needs no extra privilege in MariaDB 10.11 (CONNECTION ADMIN is only for other users).
        await root.query(`GRANT PROCESS ON *.* TO ${account}`);
      }
      await options.setup?.(root);
    } finally {
      await root.end();
    }
    const url = `mysql://${USER}:${password}@127.0.0.1:${started.port}/${DATABASE}`;
    // Prove the URL we hand out works over TCP with the test user, not just root over the socket.
    const check = await mysql.createConnection({ uri: url, connectTimeout: 5_000 });
    await check.query("SELECT 1");
    await check.end();

    let stopping: Promise<void> | undefined;
    return {
      url,
      stop: () => {
        stopping ??= (async () => {
          await terminate(started.child);
          await rm(dir, { recursive: true, force: true });
          process.off("exit", onExit);
        })();
        return stopping;
      },
      // SIGTERM: a clean shutdown that closes every client connection, as a database restart does.
      halt: () => terminate(started.child),
      resume: async () => {
        if (!hasExited(started.child)) return;
        started = await launch(bin.server, dir, datadir, owner !== undefined, onSpawn, started.port, flags);
      },
    };
  } catch (cause) {
    if (child) await terminate(child);
    await rm(dir, { recursive: true, force: true });
    process.off("exit", onExit);
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new Error(`No MariaDB server for the tests: it failed to start: ${reason}\n${HOW_TO_GET_ONE}`, { cause });
  }
}

interface Binaries {
  server: string;
  installDb: string;
}

const SEARCH_DIRS = ["/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/mysql/bin"];

function which(names: readonly string[]): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(delimiter).filter(Boolean), ...SEARCH_DIRS];
  for (const name of names) {
    for (const dir of dirs) {
      const candidate = join(dir, name);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {}
    }
  }
  return undefined;
}

function findBinaries(): Binaries | undefined {
  const server = which(["mariadbd", "mysqld"]);
  const installDb = which(["mariadb-install-db", "mysql_install_db"]);
  return server && installDb ? { server, installDb } : undefined;
}

async function findOrInstallBinaries(): Promise<Binaries> {
  const found = findBinaries();
  if (found) return found;
  // Only where installing is ours to do: root on Debian-like systems (CI containers, dev VMs).
  if (process.getuid?.() === 0 && existsSync("/etc/debian_version")) {
    const install = () => run("apt-get", ["install", "-y", "--no-install-recommends", "mariadb-server"], 600_000);
    try {
      await install();
    } catch {
      // Usually stale or missing package lists in a fresh container.
      await run("apt-get", ["update"], 300_000).catch(() => {});
      await install().catch(() => {});
    }
    const installed = findBinaries();
    if (installed) return installed;
  }
  throw new Error(`No MariaDB server for the tests: mariadbd or mariadb-install-db not found. ${HOW_TO_GET_ONE}`);
}

async function mysqlUser(): Promise<{ uid: number; gid: number }> {
  const id = async () => ({
    uid: Number((await run("id", ["-u", "mysql"], 5_000)).trim()),
    gid: Number((await run("id", ["-g", "mysql"], 5_000)).trim()),
  });
  try {
    return await id();
  } catch {
    await run(
      "useradd",
      ["--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", "mysql"],
      30_000,
    );
    return await id();
  }
}

function run(file: string, args: readonly string[], timeout: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    execFile(file, args, { timeout, env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.join(" ")} failed: ${error.message}\n${tail(`${stdout}${stderr}`)}`));
      else resolve(stdout);
    });
  });
}

function tail(text: string, max = 2_000): string {
  return text.length > max ? `…${text.slice(-max)}` : text;
}

/** Starts mariadbd and waits until it answers; retries on a new port if another process took ours meanwhile. */
async function launch(
  server: string,
  dir: string,
  datadir: string,
  asRoot: boolean,
  onSpawn: (child: ChildProcess) => void,
  /** The port to listen on (a restart); default: a free one, retried if taken meanwhile. */
  fixedPort?: number,
  flags: readonly string[] = [],
): Promise<{ child: ChildProcess; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const port = fixedPort ?? (await freePort());
    const socketPath = join(dir, "mysqld.sock");
    const child = spawn(
      server,
      [
        "--no-defaults", // must come first; ignores /etc/mysql so a system install cannot interfere
        `--datadir=${datadir}`,
        `--socket=${socketPath}`,
        `--port=${port}`,
        "--bind-address=127.0.0.1",
        "--skip-networking=0",
        `--pid-file=${join(dir, "mysqld.pid")}`,
        ...(asRoot ? ["--user=mysql"] : []),
        // Pooling tests open many connections at once.
        "--max-connections=500",
        "--skip-log-bin",
        // Accounts are created for '%' too; don't depend on reverse DNS for 127.0.0.1.
        "--skip-name-resolve",
        "--performance-schema=ON",
        ...flags,
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    onSpawn(child);
    let log = "";
    // Always drain stderr (the server log): a full pipe would block the server.
    child.stderr?.on("data", (chunk: Buffer) => {
      log = tail(log + chunk.toString("utf8"), 8_000);
    });
    const exited = exitOf(child);
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (true) {
      if (hasExited(child)) {
        await exited;
        if (fixedPort === undefined && attempt < 3 && /address already in use/i.test(log)) break;
        throw new Error(
          `mariadbd exited during startup (code ${child.exitCode}, signal ${child.signalCode}):\n${tail(log)}`,
        );
      }
      if (Date.now() > deadline) {
        await terminate(child);
        throw new Error(`mariadbd did not accept connections within ${START_TIMEOUT_MS} ms:\n${tail(log)}`);
      }
      try {
        const probe = await mysql.createConnection({ socketPath, user: "root", connectTimeout: 1_000 });
        await probe.end();
        return { child, port };
      } catch {
        await sleep(100);
      }
    }
  }
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null || child.pid === undefined;
}

function exitOf(child: ChildProcess): Promise<void> {
  if (hasExited(child)) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    // A failed spawn (ENOENT, EACCES) reports "error" and may never report "exit".
    child.once("error", () => resolve());
  });
}

/** SIGTERM for a clean InnoDB shutdown, SIGKILL if that takes too long. Bounded either way. */
async function terminate(child: ChildProcess): Promise<void> {
  if (hasExited(child)) return;
  const exited = exitOf(child);
  child.kill("SIGTERM");
  if (await within(exited, STOP_TIMEOUT_MS)) return;
  child.kill("SIGKILL");
  await within(exited, 5_000);
}

/** Whether `promise` settled within `ms`; clears its timer so it never holds the process open. */
async function within(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
