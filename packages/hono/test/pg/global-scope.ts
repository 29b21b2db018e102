import { env } from "cloudflare:workers";
import { pgClientAdapter } from "@hyperdrive-kit/pg";
import { globalScopeWorker } from "@hyperdrive-kit/testing/conformance";
import { Hono } from "hono";
import { hyperdrive } from "../../src/index.ts";

// A Hono app run at global scope (module initialisation), where Workers forbid I/O.
const app = new Hono()
  .use(hyperdrive(pgClientAdapter))
  .get("/", async (c) => c.json((await c.var.db.query("select 1")).rows));
app.onError((error) => {
  throw error;
});

export default globalScopeWorker(async (ctx) => app.fetch(new Request("http://hono.test/"), env, ctx));
