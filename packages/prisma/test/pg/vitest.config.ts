import { defineAdapterTestConfig } from "@hyperdrive-kit/testing/vitest-config";

export default defineAdapterTestConfig({
  main: "./test/pg/worker.ts",
  globalSetup: "./test/pg/global-setup.ts",
  include: ["test/pg/*.test.ts"],
  // The generated client loads Prisma's query compiler with `import("./query_compiler_fast_bg.wasm?module")`.
  modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm", "**/*.wasm?module"] }],
});
