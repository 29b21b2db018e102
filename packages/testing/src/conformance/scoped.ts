/** Helpers for adapter tests that run inside workerd: a request scope per call, the test bindings, event views. */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { HyperdriveEvent } from "@hyperdrive-kit/core";
import type { TestBindingName } from "../setup.ts";

/** A Hyperdrive binding as workerd hands it to the Worker. */
export interface Binding {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  connectionString: string;
}

export const bindings = env as unknown as Record<TestBindingName, Binding>;

export interface Outcome<T> {
  /** What the callback returned, or undefined when it threw. */
  value: T | undefined;
  /** What the callback (or withHyperdrive) threw. */
  error: unknown;
  /** Every scope event, teardown included: the scope has fully settled when `scoped` returns. */
  events: HyperdriveEvent[];
}

type AnyWithHyperdrive = (
  env: unknown,
  ctx: ExecutionContext,
  fn: (db: never) => Promise<unknown>,
  options?: never,
) => Promise<unknown>;

/**
 * Builds `scoped(fn, options)`: runs `fn` in its own request scope of the adapter's `withHyperdrive` and waits for
 * the teardown. Never throws: the outcome holds the error.
 */
export function scopedRunner<DefaultDb>(withHyperdrive: AnyWithHyperdrive) {
  return async function scoped<T, Db = DefaultDb>(
    fn: (db: Db, events: HyperdriveEvent[]) => Promise<T>,
    options: Record<string, unknown> = {},
  ): Promise<Outcome<T>> {
    const ctx = createExecutionContext();
    const events: HyperdriveEvent[] = [];
    const outcome: Outcome<T> = { value: undefined, error: undefined, events };
    try {
      outcome.value = (await withHyperdrive(
        env,
        ctx,
        ((db: Db) => fn(db, events)) as never,
        {
          onEvent: (event: HyperdriveEvent) => events.push(event),
          ...options,
        } as never,
      )) as T;
    } catch (error) {
      outcome.error = error;
    }
    await waitOnExecutionContext(ctx);
    return outcome;
  };
}

/** The connection's life as the scope reports it: connects and teardowns, in order. */
export const lifecycle = (events: readonly HyperdriveEvent[]) =>
  events.flatMap((event) =>
    event.type === "connect" ? ["connect"] : event.type === "teardown" ? [`teardown:${event.outcome}`] : [],
  );

/** The first error event in `events` once there is one (idle failures are reported, never thrown); bounded. */
export async function errorEvent(events: readonly HyperdriveEvent[]): Promise<HyperdriveEvent | undefined> {
  for (let i = 0; i < 1000; i++) {
    const found = events.find((event) => event.type === "error");
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return undefined;
}
