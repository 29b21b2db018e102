export type { CacheStatus } from "./cache.ts";
export type { QueryEvent } from "./context.ts";
export { HYPERDRIVE_PREPARE_ERROR, MYSQL_REFUSAL_MESSAGES, type MysqlRefusal } from "./mysql/refusals.ts";
export type { CachingOptions, SimulatorOptions } from "./options.ts";
export { POSTGRES_REFUSAL_MESSAGES, type PostgresRefusal } from "./postgres/refusals.ts";
export { type Simulator, startSimulator } from "./simulator.ts";
export { ORIGIN_REFUSED, POOL_EXHAUSTED } from "./texts.ts";
