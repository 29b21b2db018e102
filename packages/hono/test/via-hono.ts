/** The conformance Worker's `withHyperdrive`, done the way a Hono app does it: the middleware, then a handler. */
import type { AttachOptions, RequestScope } from "@hyperdrive-kit/core";
import type { Adapter } from "@hyperdrive-kit/core/adapter";
import type { ConformanceDriver } from "@hyperdrive-kit/testing/conformance";
import { Hono } from "hono";
import { hyperdrive } from "../src/index.ts";

export function viaHono<Db extends object>(
  adapter: (options: Record<string, unknown>) => Adapter<Db, AttachOptions>,
): ConformanceDriver<Db>["withHyperdrive"] {
  return async (env, ctx, fn, options = {}) => {
    const app = new Hono<{ Variables: { db: Db; dbScope: RequestScope } }>();
    app.use(hyperdrive(adapter(options), options));
    app.all("*", (c) => fn(c.var.db, c.var.dbScope));
    // The suite wants what the handler threw, not Hono's 500.
    app.onError((error) => {
      throw error;
    });
    return app.fetch(new Request("http://hono.test/"), env, ctx);
  };
}
