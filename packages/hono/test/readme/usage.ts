import { hyperdrive, hyperdriveErrorHandler } from "@hyperdrive-kit/hono";
import { postgresAdapter } from "@hyperdrive-kit/postgres";
import { Hono } from "hono";

const app = new Hono<{ Bindings: Env }>()
  .use(hyperdrive(postgresAdapter))
  .get("/todos", async (c) => c.json(await c.var.db`select id, title from todos`));

app.onError(hyperdriveErrorHandler({ exposeFix: (c) => c.env.EXPOSE_ERROR_FIX === "true" }));

export default app;
