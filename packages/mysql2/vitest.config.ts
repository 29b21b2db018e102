import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { COMPATIBILITY_DATE, COMPATIBILITY_FLAGS } from "@hyperdrive-kit/testing/vitest-config";
import { defineConfig } from "vitest/config";

/**
 * defineAdapterTestConfig's setup (HYPERDRIVE, ADMIN, NOT_A_BINDING, the GLOBAL_SCOPE Worker) plus bindings for
 * the error rows: a wrong password, a missing database, a database that is down, one that never answers, and the fake Hyperdrive origin.
 */
export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => {
      const url = inject("databaseUrl");
      const at = (change: (u: URL) => void) => {
        const u = new URL(url);
        change(u);
        return u.toString();
      };
      return {
        main: "./test/worker.ts",
        miniflare: {
          compatibilityDate: COMPATIBILITY_DATE,
          compatibilityFlags: COMPATIBILITY_FLAGS,
          hyperdrives: {
            HYPERDRIVE: url,
            ADMIN: url,
            BAD_PASSWORD: at((u) => {
              u.password = "not-the-password";
            }),
            BAD_DATABASE: at((u) => {
              u.pathname = "/no_such_database";
            }),
            DOWN: at((u) => {
              u.hostname = "127.0.0.1";
              u.port = String(inject("downPort"));
            }),
            HANGS: at((u) => {
              u.hostname = "127.0.0.1";
              u.port = String(inject("blackholePort"));
            }),
            FAKE_ORIGIN: `mysql://user:password@127.0.0.1:${inject("fakeOriginPort")}/db`,
          },
          bindings: { NOT_A_BINDING: "a plain string" },
          serviceBindings: { GLOBAL_SCOPE: "global-scope" },
          workers: [
            {
              name: "global-scope",
              modules: true,
              scriptPath: inject("globalScopeScript"),
              compatibilityDate: COMPATIBILITY_DATE,
              compatibilityFlags: COMPATIBILITY_FLAGS,
              hyperdrives: { HYPERDRIVE: url },
            },
          ],
        },
      };
    }),
  ],
  test: {
    globalSetup: ["./test/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
