import { defineConfig } from "tsdown";

export default defineConfig({
  entry: ["src/pg.ts", "src/postgres.ts", "src/mysql2.ts"],
  format: "esm",
  dts: true,
  platform: "neutral",
  deps: { neverBundle: [/^node:/, /^cloudflare:/, /^@hyperdrive-kit\//, /^kysely/, "pg", "postgres", /^mysql2/] },
});
