import type { DriverName } from "./catalog.ts";
import type { HyperdriveError } from "./errors.ts";

/** The scope's one hook, for logs, metrics and traces. Timings are `performance.now()` differences. */
export type HyperdriveEvent =
  | { readonly type: "connect"; readonly driver: DriverName; readonly durationMs: number; readonly error?: unknown }
  | { readonly type: "query"; readonly driver: DriverName; readonly durationMs: number; readonly error?: unknown }
  | { readonly type: "error"; readonly driver: DriverName | undefined; readonly error: HyperdriveError }
  | {
      readonly type: "teardown";
      readonly driver: DriverName;
      readonly durationMs: number;
      /** `skipped`: policy `"none"`; `timeout` and `failed` carry the (swallowed) error. */
      readonly outcome: "closed" | "skipped" | "timeout" | "failed";
      readonly error?: HyperdriveError;
    };

export type EventHook = (event: HyperdriveEvent) => void;
