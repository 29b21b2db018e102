import type { ExecutionContext } from "hono";

/**
 * Hono's `app.fetch(request, env, ctx)` inside a Durable Object: the object's `this.ctx` has `waitUntil` (all the
 * middleware needs to close the handle after the response) but not `passThroughOnException`, which Hono's type asks
 * for and which means nothing in a Durable Object.
 */
export function durableObjectContext(state: {
  waitUntil(promise: Promise<unknown>): void;
  props?: unknown;
}): ExecutionContext {
  return {
    waitUntil(promise) {
      state.waitUntil(promise);
    },
    passThroughOnException() {},
    props: state.props,
  };
}
