export { classify, HyperdriveError, isHyperdriveError } from "@hyperdrive-kit/core";
export type { PgClientOptions, PgOptions, PgPoolOptions } from "./pg.ts";
export { DEFAULT_POOL_MAX, MAX_CONNECTIONS, pgClientAdapter, pgPoolAdapter, withHyperdrive } from "./pg.ts";
