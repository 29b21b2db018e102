// `@hyperdrive-kit/core/adapter`: the building blocks for adapter and integration authors. Users import
// `@hyperdrive-kit/core` (errors, classification, types) and an adapter package's `withHyperdrive`.
export type {
  Adapter,
  AdapterContext,
  AttachOptions,
  CommonUnsafeOptions,
  ConnectAttempt,
  OpenedClient,
} from "./adapter.ts";
export {
  attach,
  checkOptions,
  connectionFields,
  MAX_CONNECTIONS,
  refuseCommonUnsafe,
  refuseUnsafe,
  secretsOf,
} from "./adapter.ts";
export { bindValuesOf, objectValuesRefusal } from "./bind-values.ts";
export type { BindingOption, HyperdriveBinding } from "./binding.ts";
export type { Binder, GuardOptions, GuardSpec } from "./guard.ts";
export { guard, SELF_CALL, unwrap } from "./guard.ts";
export type { ObjectHandleOptions } from "./object-handle.ts";
export { createObjectHyperdrive, DEFAULT_OBJECT_IDLE_MS, ObjectHandle } from "./object-handle.ts";
export { DEFAULT_CONNECT_TIMEOUT_MS } from "./options.ts";
export { REDACTED, redact } from "./redact.ts";
export { watchRowStream } from "./row-stream.ts";
export type { ExecutionContextLike, ScopeOptions, ScopeState, TeardownPolicy } from "./scope.ts";
export { BUFFERED_BODY_LIMIT, openScope, RequestScope } from "./scope.ts";
export type { WorkerSocket } from "./socket.ts";
export { awaitServerClose, SERVER_CLOSE_GRACE_MS, socketPool } from "./socket.ts";
export type { WithHyperdrive, WithHyperdriveOptions } from "./with-hyperdrive.ts";
export { createWithHyperdrive } from "./with-hyperdrive.ts";
