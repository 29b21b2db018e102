import { defineAdapterTestConfig } from "@hyperdrive-kit/testing/vitest-config";

export default defineAdapterTestConfig({
  main: "./test/worker.ts",
  globalSetup: "./test/global-setup.ts",
  handlerKinds: true,
});
