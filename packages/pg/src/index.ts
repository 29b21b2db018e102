// Every type of the user API (events for `onEvent`, `HyperdriveErrorCode`, `RequestScope`, options), from one import.
export type * from "@hyperdrive-kit/core";
export {
  classify,
  findHyperdriveError,
  HyperdriveError,
  isHyperdriveError,
  MAX_CONNECTIONS,
} from "@hyperdrive-kit/core";
export { objectHyperdrive } from "./object.ts";
export type { PgClientOptions, PgOptions, PgPoolOptions } from "./pg.ts";
export { DEFAULT_POOL_MAX, pgClientAdapter, pgPoolAdapter, withHyperdrive } from "./pg.ts";
