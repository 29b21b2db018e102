/**
 * A Worker in `wrangler dev`, the way a user runs it locally, against real databases behind the fault proxy: what
 * `pnpm bench` and `pnpm soak` drive over HTTP. The wrangler is the repository's own (the root's dev dependency).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
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

/** What a run started, stopped in reverse order by `close()`. */
export interface Cleanups {
  /** Each stops one thing; pushed as each thing starts. */
  cleanups: Array<() => unknown>;
  close(): Promise<void>;
}

/**
 * A stack of cleanups that also runs on SIGINT and SIGTERM (then exits 130): a run stopped by hand stops its servers
 * and wrangler too, rather than leave them running.
 */
export function cleanupsOnExit(): Cleanups {
  const cleanups: Array<() => unknown> = [];
  const close = async () => {
    process.off("SIGINT", interrupted).off("SIGTERM", interrupted);
    for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => {});
  };
  const interrupted = () => void close().finally(() => process.exit(130));
  process.once("SIGINT", interrupted).once("SIGTERM", interrupted);
  return { cleanups, close };
}

export const COMPATIBILITY_DATE = "2025-09-01";

/**
 * A wrangler configuration for `main` in a new temporary folder (removed by a cleanup): nodejs_compat, and the
 * Hyperdrive bindings `PG` and `MY` for the local connection strings given (a binding without one is left out).
 */
export async function writeWranglerConfig(
  worker: {
    name: string;
    main: string;
    hyperdrive: Partial<Record<"PG" | "MY", string>>;
    /** Beside `nodejs_compat`. */
    compatibilityFlags?: readonly string[];
    /** Module aliases for the bundle (wrangler's `alias`). */
    alias?: Record<string, string>;
  },
  cleanups: Array<() => unknown>,
): Promise<{ dir: string; config: string }> {
  const dir = await mkdtemp(join(tmpdir(), `${worker.name}-`));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const ids = { PG: "00000000000000000000000000000001", MY: "00000000000000000000000000000002" };
  const config = join(dir, "wrangler.json");
  await writeFile(
    config,
    JSON.stringify({
      name: worker.name,
      main: worker.main,
      compatibility_date: COMPATIBILITY_DATE,
      compatibility_flags: ["nodejs_compat", ...(worker.compatibilityFlags ?? [])],
      ...(worker.alias ? { alias: worker.alias } : {}),
      hyperdrive: Object.entries(worker.hyperdrive)
        .filter(([, localConnectionString]) => localConnectionString !== undefined)
        .map(([binding, localConnectionString]) => ({
          binding,
          id: ids[binding as "PG" | "MY"],
          localConnectionString,
        })),
    }),
  );
  return { dir, config };
}

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

/** Ends a child process; resolves once it has exited. */
export function stopProcess(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill();
  });
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
/**
 * A minimal DevTools protocol client on wrangler dev's inspector port (workerd's inspector behind wrangler's proxy,
 * which takes one client at a time): one WebSocket, requests matched by id.
 */
export async function inspector(port: number) {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as Array<{
    webSocketDebuggerUrl: string;
  }>;
  const url = targets[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error("workerd's inspector lists no target");
  // wrangler's inspector proxy wants an Origin it allows; Node's WebSocket (undici) takes headers as an extension.
  const socket = new WebSocket(url, { headers: { origin: "http://localhost" } } as unknown as string[]);
  await new Promise((resolve, reject) => {
    socket.addEventListener("open", resolve, { once: true });
    socket.addEventListener("error", reject, { once: true });
  });
  let next = 0;
  const waiting = new Map<number, { resolve(result: unknown): void; reject(error: Error): void }>();
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown; error?: { message: string } };
    const waiter = message.id === undefined ? undefined : waiting.get(message.id);
    if (!waiter) return;
    waiting.delete(message.id as number);
    if (message.error) waiter.reject(new Error(`inspector: ${message.error.message}`));
    else waiter.resolve(message.result);
  });
  const send = <T>(method: string, params: Record<string, unknown> = {}) =>
    new Promise<T>((resolve, reject) => {
      const id = ++next;
      // Bounded: an answer that never comes fails the run rather than hang it.
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new Error(`inspector: no answer to ${method} in 60 s`));
      }, 60_000);
      waiting.set(id, {
        resolve: (result) => {
          clearTimeout(timer);
          resolve(result as T);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      socket.send(JSON.stringify({ id, method, params }));
    });
  return { send, close: () => socket.close() };
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

/**
 * wrangler dev runs two workerd processes: the one that runs the Worker (started with an inspector address) and
 * its own proxy in front (the port it listens on, the inspector proxy), which every request passes through.
 */
export function workerdRoles(pids: readonly number[]): { worker: number[]; proxy: number[] } {
  const isWorker = (pid: number) => (read(`/proc/${pid}/cmdline`) ?? "").includes("--inspector-addr");
  return { worker: pids.filter(isWorker), proxy: pids.filter((pid) => !isWorker(pid)) };
}

/** Resident memory of the given processes, summed, in MiB (`VmRSS` from `/proc/<pid>/status`). */
export function residentMiB(pids: readonly number[]): number {
  let kib = 0;
  for (const pid of pids) kib += Number(/VmRSS:\s+(\d+)/.exec(read(`/proc/${pid}/status`) ?? "")?.[1] ?? 0);
  return kib / 1024;
}

export { read as readProcFile };
