import { globalScopeWorker } from "@hyperdrive-kit/testing/conformance";
import { env } from "cloudflare:workers";
import { withHyperdrive } from "../src/index.ts";

export default globalScopeWorker((ctx) => withHyperdrive(env, ctx, (db) => db.query("select 1")));
