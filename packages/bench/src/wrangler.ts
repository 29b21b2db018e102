/** The wrangler this package depends on, as every mode and script starts or loads it (kept in the testing package). */
export { fromWrangler, wranglerBin, wranglerEnv } from "@hyperdrive-kit/testing/wrangler-dev";
