import { env } from "cloudflare:workers";
import { globalScopeWorker } from "@hyperdrive-kit/testing/conformance";
import { sql } from "kysely";
import { withKysely } from "../../src/postgres.ts";

export default globalScopeWorker((ctx) => withKysely(env, ctx, (db) => sql`select 1`.execute(db)));
