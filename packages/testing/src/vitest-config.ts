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
  /**
   * Binds the handler-kind suite's Durable Object, Workflow and queue (handler-kinds.ts): the Worker under test then
   * exports `HandlerObject`, `HandlerEntrypoint` and `HandlerWorkflow` (`handlerKindClasses()`).
   */
  handlerKinds?: boolean;
}

/** The bindings of the handler-kind suite (see `handler-kinds.ts`). */
const handlerKindBindings = {
  durableObjects: { HANDLER_OBJECT: "HandlerObject" },
  workflows: { HANDLER_WORKFLOW: { name: "handler-workflow", className: "HandlerWorkflow" } },
  queueProducers: { HANDLER_QUEUE: { queueName: "handler-kinds" } },
  queueConsumers: { "handler-kinds": { maxBatchTimeout: 0, maxRetries: 0 } },
};

export function defineAdapterTestConfig({
  main,
  globalSetup,
  include,
  modulesRules,
  extraCompatibilityFlags = [],
  handlerKinds = false,
}: AdapterTestConfig) {
  return defineConfig({
    plugins: [
      cloudflareTest(({ inject }) => {
        const hyperdrives = inject("hyperdrives");
        return {
          main,
          // Exported by destructuring, which the plugin's static look at the exports does not see.
          ...(handlerKinds ? { additionalExports: { HandlerEntrypoint: "WorkerEntrypoint" as const } } : {}),
          miniflare: {
            compatibilityDate: COMPATIBILITY_DATE,
            compatibilityFlags: [
              ...COMPATIBILITY_FLAGS,
              ...extraCompatibilityFlags,
              // `exports.HandlerEntrypoint` in the handler-kind suite: an RPC call into the Worker's own entrypoint.
              ...(handlerKinds ? ["enable_ctx_exports"] : []),
            ],
            hyperdrives,
            ...(modulesRules ? { modulesRules } : {}),
            ...(handlerKinds ? handlerKindBindings : {}),
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
