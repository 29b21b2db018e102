import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { failure } from "@hyperdrive-kit/testing/suite";
import { it } from "vitest";
import { withHyperdrive } from "../src/index.ts";

it("scratch", async () => {
  for (const options of [{ binding: "HANGS", connectTimeoutMs: 500 }, { binding: "HANGS", client: { connect_timeout: 1 } }, { binding: "DOWN" }, { binding: "BAD_DATABASE" }]) {
    const ctx = createExecutionContext();
    const error = await failure(() => withHyperdrive(env, ctx, (sql) => sql`select 1`, options as never));
    await waitOnExecutionContext(ctx);
    console.log("SCRATCH", JSON.stringify(options), error.code, error.message);
  }
});
