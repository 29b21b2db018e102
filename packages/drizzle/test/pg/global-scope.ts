import { env } from "cloudflare:workers";
import { globalScopeWorker } from "@hyperdrive-kit/testing/conformance";
import { sql } from "drizzle-orm";
import { withDrizzle } from "../../src/pg.ts";

export default globalScopeWorker((ctx) => withDrizzle(env, ctx, (db) => db.execute(sql`select 1`)));
