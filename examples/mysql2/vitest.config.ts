import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// The example is tested as users run it: its own wrangler.jsonc, with the binding pointed at a real MariaDB.
export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => {
      const url = inject("databaseUrl");
      // The same database, on a port where nothing listens: a database that is down.
      const down = new URL(url);
      down.hostname = "127.0.0.1";
      down.port = String(inject("downPort"));
      return {
        wrangler: { configPath: "./wrangler.jsonc" },
        miniflare: { hyperdrives: { HYPERDRIVE: url, DOWN: down.toString() } },
      };
    }),
  ],
  test: { globalSetup: ["./test/global-setup.ts"], testTimeout: 30_000, hookTimeout: 120_000 },
});
