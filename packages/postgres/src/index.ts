export { classify, HyperdriveError, isHyperdriveError } from "@hyperdrive-kit/core";
export type { PostgresClientOptions, PostgresOptions, Sql } from "./postgres.ts";
export { HYPERDRIVE_DEFAULTS, MAX_CONNECTIONS, postgresAdapter, withHyperdrive } from "./postgres.ts";
