import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { COMPATIBILITY_DATE, COMPATIBILITY_FLAGS } from "@hyperdrive-kit/testing/vitest-config";
import { defineConfig } from "vitest/config";

// The adapters run inside workerd, their Hyperdrive bindings pointed at simulators the global setup starts.
export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => ({
      main: "./test/worker/worker.ts",
      miniflare: {
        compatibilityDate: COMPATIBILITY_DATE,
        compatibilityFlags: COMPATIBILITY_FLAGS,
        hyperdrives: inject("hyperdrives"),
      },
    })),
  ],
  test: {
    include: ["test/worker/**/*.test.ts"],
    globalSetup: ["./test/worker/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 180_000,
  },
});
