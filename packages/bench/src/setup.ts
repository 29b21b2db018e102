/**
 * What `pnpm bench` runs against: a real PostgreSQL and MariaDB, each behind the testing package's fault proxy (delay
 * on demand, round trips counted), and the bench Worker (`worker/index.ts`) in `wrangler dev`, whose Hyperdrive
 * bindings `PG` and `MY` connect through the proxies.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type FaultProxy, startFaultProxy } from "@hyperdrive-kit/testing/proxy";
import { freePort, startMariadb, startPostgres } from "@hyperdrive-kit/testing/servers";

export type Engine = "postgres" | "mysql";

export interface Bench {
  proxies: Partial<Record<Engine, FaultProxy>>;
  /** Where wrangler dev listens. */
  origin: string;
  /** wrangler dev's inspector (Chrome DevTools protocol), for profiles. */
  inspectorPort: number;
  /** Where wrangler dev's configuration is, and its `.wrangler/tmp` with the bundle it runs. */
  dir: string;
  close(): Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));

export interface BenchOptions {
  /** V8 flags for workerd (through miniflare's `MINIFLARE_WORKERD_V8_FLAGS`), e.g. `--trace-opt`. */
  v8Flags?: readonly string[];
  /** Receives wrangler dev's and workerd's output once the Worker answers (it is only kept for an error before). */
  onOutput?: (text: string) => void;
}

export async function startBench(engines: readonly Engine[], options: BenchOptions = {}): Promise<Bench> {
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  const close = async () => {
    process.off("SIGINT", interrupted).off("SIGTERM", interrupted);
    for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => {});
  };
  // Stopped by hand: stop the servers and wrangler too, rather than leave them running.
  const interrupted = () => void close().finally(() => process.exit(130));
  process.once("SIGINT", interrupted).once("SIGTERM", interrupted);
  try {
    const proxies: Partial<Record<Engine, FaultProxy>> = {};
    const urls: Partial<Record<Engine, string>> = {};
    for (const engine of new Set(engines)) {
      const server = engine === "postgres" ? await startPostgres() : await startMariadb();
      cleanups.push(() => server.stop());
      const url = new URL(server.url);
      const proxy = await startFaultProxy({ target: { host: url.hostname, port: Number(url.port) } });
      cleanups.push(() => proxy.close());
      url.hostname = "127.0.0.1";
      url.port = String(proxy.port);
      proxies[engine] = proxy;
      urls[engine] = url.toString();
    }
    const dir = await mkdtemp(join(tmpdir(), "hdk-bench-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const hyperdrive = [
      { binding: "PG", id: "00000000000000000000000000000001", localConnectionString: urls.postgres },
      { binding: "MY", id: "00000000000000000000000000000002", localConnectionString: urls.mysql },
    ].filter((binding) => binding.localConnectionString !== undefined);
    const config = join(dir, "wrangler.json");
    await writeFile(
      config,
      JSON.stringify({
        name: "hyperdrive-kit-bench",
        main: join(here, "../worker/index.ts"),
        compatibility_date: "2025-09-01",
        compatibility_flags: ["nodejs_compat"],
        hyperdrive,
      }),
    );
    const port = await freePort();
    const inspectorPort = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    const wrangler = await startWrangler(config, origin, port, inspectorPort, options);
    cleanups.push(() => wrangler.kill());
    return { proxies, origin, inspectorPort, dir, close };
  } catch (error) {
    await close();
    throw error;
  }
}

async function startWrangler(
  config: string,
  origin: string,
  port: number,
  inspectorPort: number,
  { v8Flags = [], onOutput }: BenchOptions,
): Promise<ChildProcess> {
  const wrangler = join(dirname(createRequire(import.meta.url).resolve("wrangler/package.json")), "bin/wrangler.js");
  const child = spawn(
    process.execPath,
    [
      wrangler,
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
      // workerd's own output (V8's traces among it) reaches wrangler's only at its debug level.
      onOutput ? "debug" : "error",
    ],
    {
      env: {
        ...process.env,
        WRANGLER_SEND_METRICS: "false",
        CI: "1",
        ...(v8Flags.length > 0 && { MINIFLARE_WORKERD_V8_FLAGS: v8Flags.join(" ") }),
      },
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
      if ((await fetch(`${origin}/none/none/none`)).status === 404) {
        started = true;
        return child;
      }
    } catch {
      // Not listening yet.
    }
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`wrangler dev did not start:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
