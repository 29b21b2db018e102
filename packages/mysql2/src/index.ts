export { classify, HyperdriveError, isHyperdriveError } from "@hyperdrive-kit/core";
export type { Mysql2ConnectionOptions, Mysql2Options, Mysql2PoolOptions } from "./mysql2.ts";
export {
  DEFAULT_CONNECTION_LIMIT,
  MAX_CONNECTIONS,
  mysql2ConnectionAdapter,
  mysql2PoolAdapter,
  withHyperdrive,
} from "./mysql2.ts";
