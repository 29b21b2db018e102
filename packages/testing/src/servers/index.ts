export { freePort } from "./free-port.ts";
export { startMariadb } from "./mariadb.ts";
export { type RunningServer, startPostgres } from "./postgres.ts";
