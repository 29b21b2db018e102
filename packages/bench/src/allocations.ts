/**
 * `pnpm --filter @hyperdrive-kit/bench allocations`: the bytes of JavaScript heap a request allocates, floor against
 * docs against kit, by where the allocating code lives (core, the adapter, the driver, nodejs_compat, the runtime's
 * native APIs), through V8's sampling heap profiler on workerd's inspector. What is allocated is what the young
 * generation's garbage collection then has to go through, the part of the handle's CPU that an instruction count
 * shows only as "more GC". Unlike CPU time it does not depend on the machine's other load.
 *
 * The profiler samples about one allocation per `HDK_ALLOC_INTERVAL` bytes (default 32) and scales each sample up,
 * objects already collected included; over a block of requests that is close to exact. Each block runs sequential
 * requests of one variant and ends once the proxy has seen every connection close (teardown included).
 *
 * Environment: HDK_BENCH_ONLY (comma-separated routes, default all), HDK_ALLOC_QUERY (`plain` or `param`, default
 * both), HDK_ALLOC_ROUNDS (3), HDK_ALLOC_REQUESTS (per block, 100), HDK_ALLOC_WARM (warm-up requests per variant,
 * 40), HDK_ALLOC_INTERVAL (bytes, 32).
 */
import { inspector } from "@hyperdrive-kit/testing/wrangler-dev";
import { groupOf, moduleMap } from "./inspector.ts";
import { closed, engineOf, get, numberFrom, path, QUERIES, selectedRoutes, VARIANTS } from "./routes.ts";
import { startBench } from "./setup.ts";
import { summarize } from "./stats.ts";

const ROUNDS = numberFrom("HDK_ALLOC_ROUNDS", 3);
const REQUESTS = numberFrom("HDK_ALLOC_REQUESTS", 100);
const WARM = numberFrom("HDK_ALLOC_WARM", 40);
const INTERVAL = numberFrom("HDK_ALLOC_INTERVAL", 32);
const queries = QUERIES.filter((query) => (process.env.HDK_ALLOC_QUERY ?? query) === query);

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}

/** Bytes per group and per function (core and adapter only), summed over the profile's tree. */
function attribute(head: HeapNode, lineToModule: (line: number) => string) {
  const groups = new Map<string, number>();
  const functions = new Map<string, number>();
  const visit = (node: HeapNode) => {
    const { url, lineNumber, functionName } = node.callFrame;
    const modulePath = url ? lineToModule(lineNumber) : "";
    const group = groupOf(modulePath, url, functionName);
    groups.set(group, (groups.get(group) ?? 0) + node.selfSize);
    const where = modulePath ? `${modulePath.split("/").slice(-3).join("/")}:${lineNumber + 1}` : group;
    const name = `${functionName || "(anonymous)"} (${where})`;
    functions.set(name, (functions.get(name) ?? 0) + node.selfSize);
    for (const child of node.children) visit(child);
  };
  visit(head);
  return { groups, functions };
}

const kb = (bytes: number) => (bytes / 1024).toFixed(1);

const routes = selectedRoutes();
const bench = await startBench([...new Set(routes.map(engineOf))]);
try {
  const session = await inspector(bench.inspectorPort);
  await session.send("HeapProfiler.enable");
  const lineToModule = await moduleMap(bench.dir);
  console.log(
    `hyperdrive-kit: JavaScript heap allocated per request inside workerd (sampling heap profiler, one sample per ~${INTERVAL} B), ${new Date().toISOString().slice(0, 10)}`,
  );
  console.log(
    `${ROUNDS} rounds of one block of ${REQUESTS} sequential requests per variant (teardown included), after ${WARM} warm-up requests per variant. KB per request: median over rounds.`,
  );
  for (const route of routes) {
    const proxy = bench.proxies[engineOf(route)];
    if (!proxy) throw new Error(`no proxy for ${route}`);
    for (const query of queries) {
      for (const variant of VARIANTS) {
        for (let i = 0; i < WARM; i++) await get(bench.origin, path(route, variant, query));
      }
      await closed(proxy);
      const perVariant = new Map<string, Array<ReturnType<typeof attribute>>>();
      for (let round = 0; round < ROUNDS; round++) {
        // Rotating order, as in the other modes: whatever drifts hits every variant alike.
        const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length] as string);
        for (const variant of order) {
          await session.send("HeapProfiler.startSampling", {
            samplingInterval: INTERVAL,
            includeObjectsCollectedByMajorGC: true,
            includeObjectsCollectedByMinorGC: true,
          });
          for (let i = 0; i < REQUESTS; i++) await get(bench.origin, path(route, variant, query));
          await closed(proxy);
          const { profile } = await session.send<{ profile: { head: HeapNode } }>("HeapProfiler.stopSampling");
          const runs = perVariant.get(variant) ?? [];
          runs.push(attribute(profile.head, lineToModule));
          perVariant.set(variant, runs);
        }
      }
      const perRequest = (variant: string, pick: (r: ReturnType<typeof attribute>) => number) =>
        summarize((perVariant.get(variant) ?? []).map(pick)).p50 / REQUESTS;
      const total = (r: ReturnType<typeof attribute>) => [...r.groups.values()].reduce((a, b) => a + b, 0);
      const groups = [...new Set([...perVariant.values()].flat().flatMap((r) => [...r.groups.keys()]))].sort();
      console.log(`\n${route} ${query}: KB allocated per request`);
      console.log(`| where | ${VARIANTS.join(" | ")} | kit − floor | kit-none − floor |`);
      console.log(`| --- |${" --- |".repeat(VARIANTS.length + 2)}`);
      for (const group of [...groups, "total"]) {
        const pick = group === "total" ? total : (r: ReturnType<typeof attribute>) => r.groups.get(group) ?? 0;
        const values = VARIANTS.map((variant) => perRequest(variant, pick));
        const [floor, , kit, kitNone] = values as [number, number, number, number];
        console.log(`| ${group} | ${values.map(kb).join(" | ")} | ${kb(kit - floor)} | ${kb(kitNone - floor)} |`);
      }
      // Where the handle allocates more than the raw code, by function (bundle lines of wrangler dev's bundle).
      for (const [variant, baseline] of [
        ["kit-none", "floor"],
        ["kit", "kit-none"],
      ] as const) {
        const names = new Set(
          [variant, baseline].flatMap((v) => (perVariant.get(v) ?? []).flatMap((r) => [...r.functions.keys()])),
        );
        const byName = (v: string, name: string) => perRequest(v, (r) => r.functions.get(name) ?? 0);
        const top = [...names]
          .map((name) => [name, byName(variant, name) - byName(baseline, name)] as const)
          .sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]))
          .slice(0, 15);
        console.log(
          `${variant} − ${baseline}, by function: ${top.map(([name, bytes]) => `${name} ${bytes.toFixed(0)} B`).join("; ")}`,
        );
      }
    }
  }
  session.close();
} finally {
  await bench.close();
}
