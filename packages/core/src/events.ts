import type { DriverName } from "./catalog.ts";
import type { HyperdriveError } from "./errors.ts";

/**
 * A connection attempt ended: established (no `error`) or failed. `durationMs` covers TCP, TLS, authentication and
 * startup. Emitted once per connection, by core, for every adapter and mode.
 */
export interface ConnectEvent {
  readonly type: "connect";
  readonly driver: DriverName;
  readonly durationMs: number;
  /** Why it failed: a `HyperdriveError` when the failure is in the catalogue, else the driver's error. */
  readonly error?: unknown;
}

/** One query call ended (a callback called, a promise settled). `error` is what the caller got. */
export interface QueryEvent {
  readonly type: "query";
  readonly driver: DriverName;
  readonly durationMs: number;
  readonly error?: unknown;
}

/** A `HyperdriveError` was raised: a misused handle, a mapped driver error, a connection that failed while idle. */
export interface ErrorEvent {
  readonly type: "error";
  readonly driver: DriverName | undefined;
  readonly error: HyperdriveError;
}

/** The scope closed (or skipped closing) one client. */
export interface TeardownEvent {
  readonly type: "teardown";
  readonly driver: DriverName;
  readonly durationMs: number;
  /** `skipped`: policy `"none"`; `timeout` and `failed` carry the (swallowed) error. */
  readonly outcome: "closed" | "skipped" | "timeout" | "failed";
  readonly error?: HyperdriveError;
}

/** The scope's one hook, for logs, metrics and traces. Timings are `performance.now()` differences. */
export type HyperdriveEvent = ConnectEvent | QueryEvent | ErrorEvent | TeardownEvent;

export type EventHook = (event: HyperdriveEvent) => void;
