import { type HyperdriveVariables, hyperdrive } from "@hyperdrive-kit/hono";
import { postgresAdapter, type Sql } from "@hyperdrive-kit/postgres";
import { Hono } from "hono";

// Declared on the app: handlers in other files can be typed with the same Env.
type AppEnv = { Bindings: Env; Variables: HyperdriveVariables<"db", Sql> };
const app = new Hono<AppEnv>();
app.use(hyperdrive(postgresAdapter));
app.get("/", async (c) => c.json(await c.var.db`select 1 as one`));
