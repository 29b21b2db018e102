/** `pnpm demo` for the examples: runs the example Worker with `wrangler dev` against a throwaway database. */
import { spawn } from "node:child_process";
import type { RunningServer } from "./servers/index.ts";

/**
 * Starts `wrangler dev` in the current directory with the `HYPERDRIVE` binding pointed at `server`, prints where to
 * open it, and stops the server when wrangler exits or on Ctrl-C.
 */
export function runWranglerDev(server: RunningServer, { paths }: { paths: string }): void {
  const port = Number(process.env.PORT ?? 8787);
  const wrangler = spawn("pnpm", ["exec", "wrangler", "dev", "--port", String(port), "--ip", "127.0.0.1"], {
    stdio: ["inherit", "pipe", "inherit"],
    env: { ...process.env, CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE: server.url },
  });
  let announced = false;
  wrangler.stdout.on("data", (chunk: Buffer) => {
    process.stdout.write(chunk);
    if (!announced && chunk.toString().includes("Ready on")) {
      announced = true;
      console.log(`\n  Open http://127.0.0.1:${port}${paths}\n`);
    }
  });
  const stop = async () => {
    wrangler.kill("SIGTERM");
    await server.stop();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  wrangler.on("exit", async (code) => {
    await server.stop();
    process.exit(code ?? 0);
  });
}
