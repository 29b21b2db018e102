import { env } from "cloudflare:workers";
import { globalScopeWorker } from "@hyperdrive-kit/testing/conformance";
import { withHyperdrive } from "../src/index.ts";

export default globalScopeWorker((ctx) => withHyperdrive(env, ctx, (db) => db.queryAsync("select 1")));
