// The user API: the errors, their classification and the types of the options and events every adapter shares.
// Building blocks for adapter and integration authors are in `@hyperdrive-kit/core/adapter`.
export type { AttachOptions } from "./adapter.ts";
export { MAX_CONNECTIONS } from "./adapter.ts";
export type { CatalogEntry, DriverName, ErrorCategory, HyperdriveErrorCode } from "./catalog.ts";
export { catalog, fixFor } from "./catalog.ts";
export type { Classification } from "./classify.ts";
export { classify, findHyperdriveError, toHyperdriveError } from "./classify.ts";
export type { HyperdriveErrorMeta, HyperdriveErrorOptions } from "./errors.ts";
export { HyperdriveError, isHyperdriveError } from "./errors.ts";
export type { ConnectEvent, ErrorEvent, EventHook, HyperdriveEvent, QueryEvent, TeardownEvent } from "./events.ts";
export type { ExecutionContextLike, RequestScope, ScopeOptions, ScopeState, TeardownPolicy } from "./scope.ts";
export type { WithHyperdrive, WithHyperdriveOptions } from "./with-hyperdrive.ts";
