import { env } from "cloudflare:workers";
import { hyperdrive } from "@hyperdrive-kit/hono";
import { postgresAdapter } from "@hyperdrive-kit/postgres";
import { Hono } from "hono";

const app = new Hono().use(hyperdrive(postgresAdapter)).get("/", async (c) => c.json(await c.var.db`select 1 as one`));

// No execution context here: c.executionCtx throws, the middleware still works and still closes the connection.
const response = await app.request("/", {}, env);
console.log(await response.json()); // { one: 1 }
