export { type Dialect, mysqlDialect, postgresDialect } from "./dialects.ts";
export { globalScopeWorker } from "./global-scope.ts";
export * from "./row-stream.ts";
export type { ConformanceDriver, DerivedObject, Rows } from "./worker.ts";
export { createConformanceWorker, handlerKindClasses } from "./worker.ts";
