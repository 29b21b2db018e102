export { classify, HyperdriveError, isHyperdriveError, MAX_CONNECTIONS } from "@hyperdrive-kit/core";
export type { Mysql2ConnectionOptions, Mysql2Options, Mysql2PoolOptions } from "./mysql2.ts";
export {
  DEFAULT_CONNECTION_LIMIT,
  mysql2ConnectionAdapter,
  mysql2PoolAdapter,
  withHyperdrive,
} from "./mysql2.ts";
