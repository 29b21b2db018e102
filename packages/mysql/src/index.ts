export { classify, HyperdriveError, isHyperdriveError } from "@hyperdrive-kit/core";
export type { MysqlConnection, MysqlOptions, MysqlPromises } from "./mysql.ts";
export { mysqlAdapter, withHyperdrive } from "./mysql.ts";
