import { defineConfig } from "tsdown";

export default defineConfig({
  entry: ["src/index.ts", "src/cli.ts"],
  format: "esm",
  dts: true,
  platform: "node",
  fixedExtension: false,
  // Dependencies stay dependencies (tsdown's default): the CLI is installed with them, never bundled into one file.
  deps: { neverBundle: [/^node:/] },
});
