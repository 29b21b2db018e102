/**
 * The Worker `pnpm bench` drives through `wrangler dev`: `/<route>/<variant>/<query>`, where route is a driver and
 * mode (`pg`, `pg-pool`, `postgres`, `mysql2`, `mysql2-pool`, `mysql`), variant is `docs`, `floor`, `kit`,
 * `kit-none` (the handle with `teardown: "none"`) or `floor-again` (the floor under another name: the bench's A/A
 * control), and query
 * `plain` or `param`. Every variant answers the same `Response.json(rows)`.
 */
import { kit } from "./kit.ts";
import { QUERIES } from "./queries.ts";
import { raw } from "./raw.ts";

type Env = Record<"PG" | "MY", Hyperdrive>;

export default {
  async fetch(request, env, ctx) {
    const [, route = "", variant = "", queryName = ""] = new URL(request.url).pathname.split("/");
    const query = QUERIES[queryName as keyof typeof QUERIES];
    const bindingName = route.startsWith("pg") || route === "postgres" ? "PG" : "MY";
    if (!query) return new Response("not found", { status: 404 });
    try {
      const handle = kit[route];
      const rawRoute = raw[route];
      if ((variant === "kit" || variant === "kit-none") && handle) {
        return await handle(
          env,
          ctx,
          { binding: bindingName, teardown: variant === "kit" ? "waitUntil" : "none" },
          query,
        );
      }
      const floor = variant === "floor" || variant === "floor-again";
      if ((variant !== "docs" && !floor) || !rawRoute) return new Response("not found", { status: 404 });
      return Response.json(await rawRoute(env[bindingName], ctx, query, variant === "docs"));
    } catch (error) {
      return new Response(String(error), { status: 500 });
    }
  },
} satisfies ExportedHandler<Env>;
