/**
 * `pnpm --filter @hyperdrive-kit/bench linger`: how long each variant keeps its database connection open after the
 * client has the whole response, as the proxy in front of the database sees it. The floor and kit-none close nothing
 * themselves: the runtime drops their sockets when the invocation ends. The docs' code and the handle close through
 * `ctx.waitUntil`, which keeps the invocation, and the connection, open until they are done.
 *
 * One request at a time, each followed by a wait until the proxy has no connection open (so nothing overlaps, unlike
 * `pnpm bench`'s timed runs), at 0 ms and with the delay, plain query. The variants take turns, the order rotating.
 *
 * Environment: HDK_BENCH_ONLY (comma-separated routes, default all), HDK_LINGER_REQUESTS (per variant and delay, 60),
 * HDK_BENCH_DELAY_MS (per chunk and direction in the delayed run, 2).
 */
import { closed, engineOf, get, keyedBy, numberFrom, path, selectedRoutes, VARIANTS } from "./routes.ts";
import { RUNTIME_LABEL, startBench } from "./setup.ts";
import { percentile } from "./stats.ts";

const REQUESTS = numberFrom("HDK_LINGER_REQUESTS", 60);
const DELAY_MS = numberFrom("HDK_BENCH_DELAY_MS", 2);
/** Longer than any teardown the bench's variants make, far shorter than the handle's 5 s bound. */
const GIVE_UP_MS = 2000;
/** Checks on every turn of the event loop: a timer would round every figure up to whole milliseconds. */
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

const routes = selectedRoutes();
const bench = await startBench([...new Set(routes.map(engineOf))]);
try {
  console.log(
    `hyperdrive-kit: how long a connection stays open after the response is in (${RUNTIME_LABEL}), ${new Date().toISOString().slice(0, 10)}`,
  );
  console.log(
    `${REQUESTS} requests per variant and delay, one at a time, plain query; ms from the client having the whole body to the proxy seeing the connection closed: p50 / p90 / max. 0.0: closed before the client had the body.\n`,
  );
  console.log(`| route | added delay | ${VARIANTS.join(" | ")} |\n| --- | --- |${" --- |".repeat(VARIANTS.length)}`);
  for (const route of routes) {
    const proxy = bench.proxies[engineOf(route)];
    if (!proxy) throw new Error(`no proxy for ${route}`);
    for (const delay of [0, DELAY_MS]) {
      proxy.setMode(delay > 0 ? { kind: "delay", ms: delay } : { kind: "pass" });
      for (const variant of VARIANTS) await get(bench.origin, path(route, variant, "plain")); // warm
      await closed(proxy);
      const open = keyedBy(VARIANTS, () => [] as number[]);
      for (let i = 0; i < REQUESTS; i++) {
        for (let k = 0; k < VARIANTS.length; k++) {
          const variant = VARIANTS[(i + k) % VARIANTS.length] as (typeof VARIANTS)[number];
          await get(bench.origin, path(route, variant, "plain"));
          const started = performance.now();
          if (!(await closed(proxy, GIVE_UP_MS, nextTurn)))
            throw new Error(`${route} ${variant}: a connection is still open ${GIVE_UP_MS} ms after the response`);
          open[variant].push(performance.now() - started);
        }
      }
      const cells = VARIANTS.map((variant) => {
        const sorted = open[variant].sort((a, b) => a - b);
        return [50, 90, 100].map((p) => percentile(sorted, p).toFixed(1)).join(" / ");
      });
      console.log(`| ${route} | ${delay > 0 ? `+${delay} ms` : "0 ms"} | ${cells.join(" | ")} |`);
    }
  }
} finally {
  await bench.close();
}
