/**
 * `pnpm --filter @hyperdrive-kit/bench tiering`: how long the bench Worker takes to warm up. V8 compiles a function
 * with an optimizing tier (Maglev, then Turbofan) only after it has run often enough, and compiles again after a
 * deoptimization; while it does, a request's time and instructions include code that is still interpreted and the
 * compilations themselves. The handle's own functions run in two of the four variants while the driver's run in all
 * four, so they are optimized last, and a short warm-up measures the handle before it is warm.
 *
 * workerd runs with `--trace-opt --trace-deopt`; the variants are sent interleaved, as in the other modes, and the
 * compilations and deoptimizations the runtime reports are counted per block of cycles (one request per variant).
 * The count covers both workerd processes of wrangler dev (its entry worker too, whose work is the same per request).
 *
 * Environment: HDK_BENCH_ONLY (comma-separated routes, default all), HDK_TIER_QUERY (`plain` or `param`, default
 * `plain`), HDK_TIER_CYCLES (1500), HDK_TIER_BLOCK (cycles per block, 100).
 */
import { engineOf, get, numberFrom, path, selectedRoutes, VARIANTS } from "./routes.ts";
import { startBench } from "./setup.ts";

const CYCLES = numberFrom("HDK_TIER_CYCLES", 1500);
const BLOCK = Math.max(1, numberFrom("HDK_TIER_BLOCK", 100));
const query = process.env.HDK_TIER_QUERY ?? "plain";

/** One block's events: optimized compilations by tier, deoptimizations, and the functions compiled most. */
class Tally {
  readonly tiers = new Map<string, number>();
  readonly functions = new Map<string, number>();
  deopts = 0;
  #partial = "";

  take(text: string): void {
    const lines = (this.#partial + text).split("\n");
    this.#partial = lines.pop() ?? "";
    for (const line of lines) {
      // [completed compiling 0x… <JSFunction name (sfi = 0x…)> (target MAGLEV) - took …]; no name when anonymous
      const compiled = /^\[completed compiling .*<JSFunction (?:(\S+) )?\(sfi.*\(target (\w+)\)/.exec(line);
      if (compiled) {
        const [, name = "", tier = ""] = compiled;
        this.tiers.set(tier, (this.tiers.get(tier) ?? 0) + 1);
        const label = name || "(anonymous)";
        this.functions.set(label, (this.functions.get(label) ?? 0) + 1);
      } else if (line.startsWith("[bailout") || line.includes("for deoptimization")) {
        // An eager or soft bailout, or optimized code thrown away because an assumption it relied on changed.
        this.deopts++;
      }
    }
  }

  get compiled(): number {
    return [...this.tiers.values()].reduce((a, b) => a + b, 0);
  }
}

const routes = selectedRoutes();
let tally = new Tally();
const bench = await startBench([...new Set(routes.map(engineOf))], {
  v8Flags: ["--trace-opt", "--trace-deopt"],
  onOutput: (text) => tally.take(text),
});
/** Concurrent compilations finish off the request path: give them a moment before a block is counted. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));
try {
  console.log(
    `hyperdrive-kit: V8 compilations and deoptimizations inside workerd per block of ${BLOCK} cycles (one ${query} request per variant: ${VARIANTS.join(", ")}), ${new Date().toISOString().slice(0, 10)}`,
  );
  for (const route of routes) {
    console.log(
      `\n${route}\n| cycles | compiled | by tier | deoptimized | most compiled |\n| --- | --- | --- | --- | --- |`,
    );
    await settle();
    tally = new Tally();
    for (let start = 0; start < CYCLES; start += BLOCK) {
      const end = Math.min(CYCLES, start + BLOCK);
      for (let cycle = start; cycle < end; cycle++) {
        for (const variant of VARIANTS) await get(bench.origin, path(route, variant, query));
      }
      await settle();
      const done = tally;
      tally = new Tally();
      const tiers = [...done.tiers].map(([tier, n]) => `${tier} ${n}`).join(", ") || "—";
      const most = [...done.functions]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 4)
        .map(([name, n]) => `${name} ${n}`)
        .join(", ");
      console.log(`| ${start}–${end} | ${done.compiled} | ${tiers} | ${done.deopts} | ${most || "—"} |`);
    }
  }
} finally {
  await bench.close();
}
