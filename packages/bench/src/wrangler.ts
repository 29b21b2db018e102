/** The wrangler this package depends on, as every mode and script starts or loads it. */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const packageJson = createRequire(import.meta.url).resolve("wrangler/package.json");

/** Resolves modules as wrangler does: its own miniflare, workerd and esbuild (not this package's dependencies). */
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
