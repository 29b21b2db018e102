export type { Adapter, AdapterContext, AttachOptions, CommonUnsafeOptions, OpenedClient } from "./adapter.ts";
export {
  attach,
  connectFailure,
  MAX_CONNECTIONS,
  refuseCommonUnsafe,
  refuseUnsafe,
  reportIdleError,
  secretsOf,
} from "./adapter.ts";
export { bindValuesOf, findUnsafeBindValue, objectValuesRefusal } from "./bind-values.ts";
export type { BindingOption, HyperdriveBinding, ResolvedBinding } from "./binding.ts";
export { DEFAULT_BINDING, hyperdriveBindingNames, isHyperdriveBinding, resolveBinding } from "./binding.ts";
export type { CatalogEntry, DriverName, ErrorCategory, HyperdriveErrorCode } from "./catalog.ts";
export { catalog, errorCodes } from "./catalog.ts";
export type { Classification } from "./classify.ts";
export { classify, toHyperdriveError } from "./classify.ts";
export type { HyperdriveErrorOptions } from "./errors.ts";
export { HyperdriveError, isHyperdriveError } from "./errors.ts";
export type { EventHook, HyperdriveEvent } from "./events.ts";
export type { GuardOptions } from "./guard.ts";
export { guard } from "./guard.ts";
export { DEFAULT_CONNECT_TIMEOUT_MS, timeoutOption } from "./options.ts";
export { leaks, REDACTED, redact } from "./redact.ts";
export type { ExecutionContextLike, ScopeOptions, ScopeState, TeardownPolicy } from "./scope.ts";
export { currentScope, DEFAULT_TEARDOWN_TIMEOUT_MS, isGlobalScope, openScope, RequestScope } from "./scope.ts";
export type { WorkerSocket } from "./socket.ts";
export { createWorkerSocket, SERVER_CLOSE_GRACE_MS, socketPool } from "./socket.ts";
export type { WithHyperdrive, WithHyperdriveOptions } from "./with-hyperdrive.ts";
export { createWithHyperdrive } from "./with-hyperdrive.ts";
