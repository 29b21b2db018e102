export type {
  ConnectEvent,
  ErrorEvent,
  EventHook,
  HyperdriveErrorCode,
  HyperdriveEvent,
  QueryEvent,
  RequestScope,
  TeardownEvent,
} from "@hyperdrive-kit/core";
export { classify, HyperdriveError, isHyperdriveError, MAX_CONNECTIONS } from "@hyperdrive-kit/core";
export type { PostgresClientOptions, PostgresOptions, Sql } from "./postgres.ts";
export { HYPERDRIVE_DEFAULTS, postgresAdapter, withHyperdrive } from "./postgres.ts";
