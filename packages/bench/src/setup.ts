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
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { FaultProxy } from "@hyperdrive-kit/testing/proxy";
import { freePort } from "@hyperdrive-kit/testing/servers";
import {
  COMPATIBILITY_DATE,
  cleanupsOnExit,
  type Engine,
  fromWrangler,
  startProxiedServer,
  startWranglerDev,
  stopProcess,
  wranglerBin,
  wranglerEnv,
  writeWranglerConfig,
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

const runtime = process.env.HDK_BENCH_RUNTIME ?? "wrangler";
/** What runs the bench Worker, as the modes print it. */
export const RUNTIME_LABEL = runtime === "miniflare" ? "Miniflare, no inspector session" : "wrangler dev";

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
  const { cleanups, close } = cleanupsOnExit();
  try {
    const proxies: Partial<Record<Engine, FaultProxy>> = {};
    const urls: Partial<Record<Engine, string>> = {};
    for (const engine of new Set(engines)) {
      const { proxy, url } = await startProxiedServer(engine, cleanups);
      proxies[engine] = proxy;
      urls[engine] = url;
    }
    const hyperdrive = Object.fromEntries(
      Object.entries({ PG: urls.postgres, MY: urls.mysql }).filter((binding): binding is [string, string] =>
        Boolean(binding[1]),
      ),
    );
    const { dir, config } = await writeWranglerConfig(
      { name: "hyperdrive-kit-bench", main: fileURLToPath(new URL("../worker/index.ts", import.meta.url)), hyperdrive },
      cleanups,
    );
    const port = await freePort();
    const inspectorPort = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    if (runtime === "miniflare") {
      const miniflare = await startMiniflare(config, dir, hyperdrive, port, inspectorPort);
      cleanups.push(() => miniflare.dispose());
    } else {
      const wrangler = await startWranglerDev({ config, port, inspectorPort, ...options });
      cleanups.push(() => stopProcess(wrangler));
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
