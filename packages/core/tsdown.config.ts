import { defineConfig } from "tsdown";

export default defineConfig({
  entry: { index: "src/index.ts", adapter: "src/for-adapters.ts" },
  format: "esm",
  dts: true,
  platform: "neutral",
  deps: { neverBundle: [/^node:/, /^cloudflare:/] },
});
