// Every type of the user API (events for `onEvent`, `HyperdriveErrorCode`, `RequestScope`, options), from one import.
export type * from "@hyperdrive-kit/core";
export {
  classify,
  findHyperdriveError,
  HyperdriveError,
  isHyperdriveError,
  MAX_CONNECTIONS,
} from "@hyperdrive-kit/core";
export type { Mysql2Connection, Mysql2ConnectionOptions, Mysql2Options, Mysql2PoolOptions } from "./mysql2.ts";
export {
  DEFAULT_CONNECTION_LIMIT,
  mysql2ConnectionAdapter,
  mysql2PoolAdapter,
  withHyperdrive,
} from "./mysql2.ts";
export { objectHyperdrive } from "./object.ts";
