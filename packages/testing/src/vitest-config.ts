/** The Vitest configuration shared by the adapter packages: tests run inside workerd against a real server. */
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { RUNTIME_SOCKET_LOSS } from "./conformance/runtime-socket-loss.ts";
import { POSTGRES_JS_4_FLAGS, postgresJs4 } from "./postgres-js.ts";

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
  /**
   * The Postgres.js major every `import "postgres"` of the run gets (adapter, ORMs, tests): 3 is the workspace's
   * `postgres`, 4 is the `postgres4` alias (`npm:postgres@4`) this package installs beside it.
   */
  postgresJs?: 3 | 4;
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
  postgresJs = 3,
}: AdapterTestConfig) {
  return defineConfig({
    ...(postgresJs === 4 ? { resolve: { alias: [{ find: /^postgres$/, replacement: postgresJs4() }] } } : {}),
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
              ...(postgresJs === 4 ? POSTGRES_JS_4_FLAGS : []),
            ],
            hyperdrives,
            ...(modulesRules ? { modulesRules } : {}),
            ...(handlerKinds ? handlerKindBindings : {}),
            // POSTGRES_JS_MAJOR: which Postgres.js this run aliased `postgres` to, for tests that say so.
            bindings: { NOT_A_BINDING: "a plain string", POSTGRES_JS_MAJOR: postgresJs },
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
