/**
 * What `pnpm bench` runs against: a real PostgreSQL and MariaDB, each behind the testing package's fault proxy (delay
 * on demand, round trips counted), and the bench Worker (`worker/index.ts`) in `wrangler dev`, whose Hyperdrive
 * bindings `PG` and `MY` connect through the proxies.
 *
 * `HDK_BENCH_RUNTIME=miniflare` runs the same Worker, bundled by wrangler (`deploy --dry-run`), in Miniflare instead:
 * the same workerd, without the inspector session that wrangler dev always opens (`Runtime.enable`, to forward the
 * Worker's console). While such a session is open, V8 captures every `new Error()`'s whole stack (up to the
 * inspector's 200 frames) rather than `Error.stackTraceLimit`'s 10, and a deployed Worker has no such session: the
 * cost of a stack trace, and of a deeper stack, is then closer to production's.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { FaultProxy } from "@hyperdrive-kit/testing/proxy";
import { freePort } from "@hyperdrive-kit/testing/servers";
import {
  type Engine,
  fromWrangler,
  startProxiedServer,
  startWranglerDev,
  wranglerBin,
  wranglerEnv,
} from "@hyperdrive-kit/testing/wrangler-dev";

export type { Engine };

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
const runtime = process.env.HDK_BENCH_RUNTIME ?? "wrangler";
/** What runs the bench Worker, as the modes print it. */
export const RUNTIME_LABEL = runtime === "miniflare" ? "Miniflare, no inspector session" : "wrangler dev";
const COMPATIBILITY_DATE = "2025-09-01";

export interface BenchOptions {
  /** V8 flags for workerd (through miniflare's `MINIFLARE_WORKERD_V8_FLAGS`), e.g. `--trace-opt`. */
  v8Flags?: readonly string[];
  /** Receives wrangler dev's and workerd's output once the Worker answers (it is only kept for an error before). */
  onOutput?: (text: string) => void;
}

export async function startBench(engines: readonly Engine[], options: BenchOptions = {}): Promise<Bench> {
  if (runtime !== "wrangler" && runtime !== "miniflare")
    throw new Error(`HDK_BENCH_RUNTIME must be "wrangler" or "miniflare", not ${JSON.stringify(runtime)}`);
  if (runtime === "miniflare" && (options.v8Flags?.length || options.onOutput))
    throw new Error(
      "HDK_BENCH_RUNTIME=miniflare does not pass V8 flags or workerd's output on: run this with wrangler",
    );
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
      const { proxy, url } = await startProxiedServer(engine, cleanups);
      proxies[engine] = proxy;
      urls[engine] = url;
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
        compatibility_date: COMPATIBILITY_DATE,
        compatibility_flags: ["nodejs_compat"],
        hyperdrive,
      }),
    );
    const port = await freePort();
    const inspectorPort = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    if (runtime === "miniflare") {
      const hyperdrives = Object.fromEntries(hyperdrive.map((b) => [b.binding, b.localConnectionString as string]));
      const miniflare = await startMiniflare(config, dir, hyperdrives, port, inspectorPort);
      cleanups.push(() => miniflare.dispose());
    } else {
      const wrangler = await startWranglerDev({ config, port, inspectorPort, ...options });
      cleanups.push(() => wrangler.kill());
    }
    return { proxies, origin, inspectorPort, dir, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The bench Worker as `wrangler deploy` would bundle it, in wrangler's own Miniflare (see the top of this file). */
async function startMiniflare(
  config: string,
  dir: string,
  hyperdrives: Record<string, string>,
  port: number,
  inspectorPort: number,
): Promise<{ dispose(): Promise<void> }> {
  const outdir = join(dir, "bundle");
  await promisify(execFile)(
    process.execPath,
    [wranglerBin, "deploy", "--dry-run", "--config", config, "--outdir", outdir],
    { env: wranglerEnv() },
  );
  const { Miniflare, convertV4MiniflareOptions } = (await import(fromWrangler.resolve("miniflare"))) as {
    Miniflare: new (options: unknown) => { ready: Promise<URL>; dispose(): Promise<void> };
    convertV4MiniflareOptions(options: unknown): unknown;
  };
  const miniflare = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port,
      // Open for the modes that attach their own session (allocations, profile); nothing attaches otherwise.
      inspectorPort,
      // Module names are paths relative to the root, which must not climb out of it.
      rootPath: outdir,
      modules: true,
      scriptPath: join(outdir, "index.js"),
      compatibilityDate: COMPATIBILITY_DATE,
      compatibilityFlags: ["nodejs_compat"],
      hyperdrives,
    }),
  );
  await miniflare.ready;
  return miniflare;
}
