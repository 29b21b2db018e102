import { defineAdapterTestConfig } from "@hyperdrive-kit/testing/vitest-config";

export default defineAdapterTestConfig({
  main: "./test/mariadb/worker.ts",
  globalSetup: "./test/mariadb/global-setup.ts",
  include: ["test/mariadb/*.test.ts"],
  // The generated client loads Prisma's query compiler with `import("./query_compiler_fast_bg.wasm?module")`.
  modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm", "**/*.wasm?module"] }],
  // `mariadb` imports `node:os`, which `nodejs_compat` provides from compatibility date 2025-09-15 on.
  extraCompatibilityFlags: ["enable_nodejs_os_module"],
});
