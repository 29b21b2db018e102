/** The Vitest configuration shared by the adapter packages: tests run inside workerd against a real server. */
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { RUNTIME_SOCKET_LOSS } from "./conformance/runtime-socket-loss.ts";

export const COMPATIBILITY_DATE = "2025-09-01";
export const COMPATIBILITY_FLAGS = ["nodejs_compat"];

export interface AdapterTestConfig {
  /** The Worker under test (the conformance Worker plus the adapter's own routes). */
  main: string;
  globalSetup: string;
  /** The test files of this Worker, when a package tests several (one config per driver). */
  include?: string[];
  /** Miniflare's module rules for the Worker under test (Prisma's generated client imports `.wasm?module`). */
  modulesRules?: Array<{ type: "ESModule" | "CommonJS" | "Text" | "Data" | "CompiledWasm"; include: string[] }>;
  /** Flags besides `nodejs_compat` for the Worker under test (the `mariadb` driver needs `node:os`). */
  extraCompatibilityFlags?: string[];
}

export function defineAdapterTestConfig({
  main,
  globalSetup,
  include,
  modulesRules,
  extraCompatibilityFlags = [],
}: AdapterTestConfig) {
  return defineConfig({
    plugins: [
      cloudflareTest(({ inject }) => {
        const hyperdrives = inject("hyperdrives");
        return {
          main,
          miniflare: {
            compatibilityDate: COMPATIBILITY_DATE,
            compatibilityFlags: [...COMPATIBILITY_FLAGS, ...extraCompatibilityFlags],
            hyperdrives,
            ...(modulesRules ? { modulesRules } : {}),
            bindings: { NOT_A_BINDING: "a plain string" },
            serviceBindings: { GLOBAL_SCOPE: "global-scope" },
            workers: [
              {
                name: "global-scope",
                modules: true,
                scriptPath: inject("globalScopeScript"),
                compatibilityDate: COMPATIBILITY_DATE,
                compatibilityFlags: COMPATIBILITY_FLAGS,
                hyperdrives: { HYPERDRIVE: hyperdrives.HYPERDRIVE },
              },
            ],
          },
        };
      }),
    ],
    test: {
      globalSetup: [globalSetup],
      ...(include ? { include } : {}),
      // workerd's own rejection on a peer reset, which no code can catch or mark handled (runtime-socket-loss.ts).
      // The conformance Worker counts it apart; the fault suite fails on every other unhandled rejection.
      onUnhandledError: (error) => (RUNTIME_SOCKET_LOSS.has(error.message ?? "") ? false : undefined),
      testTimeout: 60_000,
      hookTimeout: 120_000,
    },
  });
}
