// Every type of the user API (events for `onEvent`, `HyperdriveErrorCode`, `RequestScope`, options), from one import.
export type * from "@hyperdrive-kit/core";
export { classify, findHyperdriveError, HyperdriveError, isHyperdriveError } from "@hyperdrive-kit/core";
export type { MysqlConnection, MysqlOptions, MysqlPromises } from "./mysql.ts";
export { mysqlAdapter, withHyperdrive } from "./mysql.ts";
export { objectHyperdrive } from "./object.ts";
