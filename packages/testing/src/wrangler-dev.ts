/**
 * A Worker in `wrangler dev`, the way a user runs it locally, against real databases behind the fault proxy: what
 * `pnpm bench` and `pnpm soak` drive over HTTP. The wrangler is the repository's own (the root's dev dependency).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { type FaultProxy, startFaultProxy } from "./proxy/index.ts";
import { type RunningServer, startMariadb, startPostgres } from "./servers/index.ts";

const packageJson = createRequire(import.meta.url).resolve("wrangler/package.json");

/** Resolves modules as wrangler does: its own miniflare, workerd and esbuild. */
export const fromWrangler = createRequire(packageJson);

/** wrangler's command-line entry, to run with `process.execPath`. */
export const wranglerBin = join(dirname(packageJson), "bin/wrangler.js");

/** wrangler's environment: no metrics, no interactive output. */
export const wranglerEnv = (extra: Record<string, string> = {}) => ({
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  CI: "1",
  ...extra,
});

export type Engine = "postgres" | "mysql";

export interface ProxiedServer {
  engine: Engine;
  server: RunningServer;
  proxy: FaultProxy;
  /** The server's URL with the proxy's host and port: what a binding's `localConnectionString` gets. */
  url: string;
}

/** A throwaway PostgreSQL or MariaDB with the fault proxy in front; `cleanups` gets what stops them. */
export async function startProxiedServer(
  engine: Engine,
  cleanups: Array<() => unknown>,
  options: { passwordBytes?: number } = {},
): Promise<ProxiedServer> {
  const server = engine === "postgres" ? await startPostgres(options) : await startMariadb(options);
  cleanups.push(() => server.stop());
  const url = new URL(server.url);
  const proxy = await startFaultProxy({ target: { host: url.hostname, port: Number(url.port) } });
  cleanups.push(() => proxy.close());
  url.hostname = "127.0.0.1";
  url.port = String(proxy.port);
  return { engine, server, proxy, url: url.toString() };
}

export interface WranglerDevOptions {
  config: string;
  port: number;
  inspectorPort: number;
  /** V8 flags for workerd (through miniflare's `MINIFLARE_WORKERD_V8_FLAGS`), e.g. `--trace-opt`. */
  v8Flags?: readonly string[];
  /**
   * Receives wrangler dev's and workerd's output once the Worker answers (it is only kept for an error before).
   * With it, wrangler logs at its debug level, where workerd's own output reaches it.
   */
  onOutput?: (text: string) => void;
  /** wrangler's log level when there is no `onOutput` (default `error`). */
  logLevel?: string;
  /** A path the Worker answers with 404 once it runs (default `/none/none/none`). */
  readyPath?: string;
}

/** Starts `wrangler dev` and resolves once the Worker answers over HTTP. */
export async function startWranglerDev(options: WranglerDevOptions): Promise<ChildProcess> {
  const { config, port, inspectorPort, v8Flags = [], onOutput, readyPath = "/none/none/none" } = options;
  const origin = `http://127.0.0.1:${port}`;
  const child = spawn(
    process.execPath,
    [
      wranglerBin,
      "dev",
      "--config",
      config,
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(inspectorPort),
      "--log-level",
      onOutput ? (options.logLevel ?? "debug") : (options.logLevel ?? "error"),
    ],
    {
      env: wranglerEnv(v8Flags.length > 0 ? { MINIFLARE_WORKERD_V8_FLAGS: v8Flags.join(" ") } : {}),
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  let started = false;
  const take = (chunk: Buffer) => {
    if (started) onOutput?.(chunk.toString());
    else output += chunk;
  };
  child.stdout?.on("data", take);
  child.stderr?.on("data", take);
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      if ((await fetch(`${origin}${readyPath}`)).status === 404) {
        started = true;
        return child;
      }
    } catch {
      // Not listening yet.
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill();
      throw new Error(`wrangler dev did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined; // the process or thread has just gone
  }
}

/** The processes below this one, with their command names (`comm`). */
export function descendants(): Map<number, string> {
  const parents = new Map<number, number>();
  const names = new Map<number, string>();
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const stat = read(`/proc/${pid}/stat`);
    if (stat === undefined) continue;
    // "pid (comm) state ppid ...": comm may hold spaces, so split after its closing parenthesis.
    const close = stat.lastIndexOf(")");
    names.set(pid, stat.slice(stat.indexOf("(") + 1, close));
    parents.set(pid, Number(stat.slice(close + 2).split(" ")[1]));
  }
  const below = (pid: number): boolean => {
    for (let p = parents.get(pid); p !== undefined && p > 1; p = parents.get(p)) if (p === process.pid) return true;
    return false;
  };
  return new Map([...names].filter(([pid]) => below(pid)));
}

/** The workerd processes below this one (wrangler dev starts them), found once. */
export function workerdPids(): number[] {
  const pids = [...descendants()].filter(([, name]) => name === "workerd").map(([pid]) => pid);
  if (pids.length === 0) throw new Error("No workerd process found below this process: is wrangler dev running?");
  return pids;
}

/** Resident memory of the given processes, summed, in MiB (`VmRSS` from `/proc/<pid>/status`). */
export function residentMiB(pids: readonly number[]): number {
  let kib = 0;
  for (const pid of pids) kib += Number(/VmRSS:\s+(\d+)/.exec(read(`/proc/${pid}/status`) ?? "")?.[1] ?? 0);
  return kib / 1024;
}

export { read as readProcFile };
