import { env } from "cloudflare:workers";
import { mysqlAdapter } from "@hyperdrive-kit/mysql";
import { globalScopeWorker } from "@hyperdrive-kit/testing/conformance";
import { Hono } from "hono";
import { hyperdrive } from "../../src/index.ts";

// A Hono app run at global scope (module initialisation), where Workers forbid I/O.
const app = new Hono()
  .use(hyperdrive(mysqlAdapter))
  .get("/", async (c) => c.json((await c.var.db.queryAsync("select 1"))[0]));
app.onError((error) => {
  throw error;
});

export default globalScopeWorker(async (ctx) => app.fetch(new Request("http://hono.test/"), env, ctx));
