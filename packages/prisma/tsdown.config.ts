import { defineConfig } from "tsdown";

export default defineConfig({
  entry: ["src/pg.ts", "src/mariadb.ts"],
  format: "esm",
  dts: true,
  platform: "neutral",
  deps: { neverBundle: [/^node:/, /^cloudflare:/, /^@hyperdrive-kit\//, /^@prisma\//, "pg", "mariadb"] },
});
