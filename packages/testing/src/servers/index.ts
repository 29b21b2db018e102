export { freePort, refusedPort } from "./free-port.ts";
export { type MariadbOptions, startMariadb } from "./mariadb.ts";
export { type PostgresOptions, type RunningServer, startPostgres } from "./postgres.ts";
