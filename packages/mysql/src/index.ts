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
export { classify, HyperdriveError, isHyperdriveError } from "@hyperdrive-kit/core";
export type { MysqlConnection, MysqlOptions, MysqlPromises } from "./mysql.ts";
export { mysqlAdapter, withHyperdrive } from "./mysql.ts";
