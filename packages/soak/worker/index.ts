/**
 * The soak Worker, run in `wrangler dev`: `/<target>/<scenario>`, where target is an adapter mode (`pg`, `pg-pool`,
 * `postgres`, `mysql2`, `mysql2-pool`, `mysql`) or an integration on one (`hono-postgres`, `drizzle-pg`, …) and
 * scenario one of `SCENARIOS`. `/stats` answers the unhandled rejections this isolate has seen.
 */
import { isRuntimeSocketLoss } from "@hyperdrive-kit/testing/runtime-socket-loss";
import { adapters } from "./adapters.ts";
import { integrations } from "./integrations.ts";
import { errorResponse } from "./outcome.ts";
import { runScenario, SCENARIOS, type Scenario } from "./scenarios.ts";
import { CURSOR_ROWS, type Env } from "./target.ts";

const targets = { ...adapters, ...integrations };

const unhandled = { handle: [] as string[], runtimeSocketLoss: 0 };
addEventListener("unhandledrejection", (event) => {
  if (isRuntimeSocketLoss(event.reason)) unhandled.runtimeSocketLoss++;
  else unhandled.handle.push(String((event.reason as Error)?.stack ?? event.reason).slice(0, 1500));
});

export default {
  async fetch(request, env, ctx) {
    const [, name = "", scenario = ""] = new URL(request.url).pathname.split("/");
    if (name === "stats") return Response.json(unhandled);
    if (name === "targets") return Response.json(Object.keys(targets));
    // The A/A control: the same requests answered without a handle or a database.
    if (name === "control")
      return scenario === "stream" ? new Response(`END ${CURSOR_ROWS}\n`) : Response.json({ ok: true, rows: 0 });
    const target = targets[name];
    if (!target || !SCENARIOS.includes(scenario as Scenario)) return new Response("not found", { status: 404 });
    try {
      return await runScenario(name, target, scenario as Scenario, env, ctx);
    } catch (error) {
      return errorResponse(error);
    }
  },
} satisfies ExportedHandler<Env>;
