import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// The example is tested as users run it: its own wrangler.jsonc (cron, queue, Durable Object, Workflow), with the
// binding pointed at a real PostgreSQL.
export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => ({
      wrangler: { configPath: "./wrangler.jsonc" },
      miniflare: { hyperdrives: { HYPERDRIVE: inject("databaseUrl") } },
    })),
  ],
  test: { globalSetup: ["./test/global-setup.ts"], testTimeout: 60_000, hookTimeout: 120_000 },
});
