/**
 * `pnpm --filter @hyperdrive-kit/bench profile`: where the Worker's CPU goes at concurrency 8, for the floor (raw, no
 * `end()`) and the handle, through workerd's inspector (the V8 sampling profiler over the DevTools protocol). Samples
 * are attributed to the module of the bundle they fall in (esbuild marks each module with a `// path` comment in
 * wrangler dev's unminified bundle), then grouped: hyperdrive-kit core (with the function names that cost most), the
 * adapter, the driver, nodejs_compat polyfills, the runtime's native code, garbage collection.
 *
 * Environment: HDK_PROFILE_ROUTES (default `pg,postgres,mysql2,mysql`), HDK_PROFILE_REQUESTS (per route and variant,
 * default 400), HDK_PROFILE_QUERY (`plain` or `param`, default `param`), HDK_PROFILE_KEEP (a path prefix: keeps the
 * bundle and each run's `.cpuprofile`).
 */
import { writeFile } from "node:fs/promises";
import { inspector } from "@hyperdrive-kit/testing/wrangler-dev";
import { groupOf, moduleMap } from "./inspector.ts";
import { engineOf, get } from "./routes.ts";
import { startBench } from "./setup.ts";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const routes = (process.env.HDK_PROFILE_ROUTES ?? "pg,postgres,mysql2,mysql").split(",").filter(Boolean);
const REQUESTS = Number(process.env.HDK_PROFILE_REQUESTS ?? 400);
const QUERY = process.env.HDK_PROFILE_QUERY ?? "param";
/** A path prefix: keeps the bundle and each run's `.cpuprofile` (DevTools opens it) for a closer look. */
const KEEP = process.env.HDK_PROFILE_KEEP;
const CONCURRENCY = 8;

async function profileRun(
  session: Awaited<ReturnType<typeof inspector>>,
  origin: string,
  path: string,
): Promise<CpuProfile> {
  await session.send("Profiler.start");
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < REQUESTS) {
        await get(origin, path);
      }
    }),
  );
  const { profile } = await session.send<{ profile: CpuProfile }>("Profiler.stop");
  if (KEEP) await writeFile(`${KEEP}${path.replaceAll("/", "_")}.cpuprofile`, JSON.stringify(profile));
  return profile;
}

function attribute(profile: CpuProfile, lineToModule: (line: number) => string) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const groups = new Map<string, number>();
  const coreFunctions = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    if (!node) return;
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    const { url, lineNumber, functionName } = node.callFrame;
    const path = url ? lineToModule(lineNumber) : "";
    const group = groupOf(path, url, functionName);
    groups.set(group, (groups.get(group) ?? 0) + ms);
    if (group === "hyperdrive-kit core" || group === "other") {
      const name = `${group === "other" ? `${path} ` : ""}${functionName || `(anonymous, bundle line ${lineNumber + 1})`}`;
      coreFunctions.set(name, (coreFunctions.get(name) ?? 0) + ms);
    }
  });
  return { groups, coreFunctions };
}

const bench = await startBench([...new Set(routes.map(engineOf))]);
try {
  const session = await inspector(bench.inspectorPort);
  await session.send("Profiler.enable");
  await session.send("Profiler.setSamplingInterval", { interval: 100 });
  for (const route of routes) {
    for (const variant of ["floor", "kit"]) {
      for (let i = 0; i < 20; i++) await get(bench.origin, `/${route}/${variant}/${QUERY}`);
    }
    const results: Record<string, ReturnType<typeof attribute>> = {};
    const lineToModule = await moduleMap(bench.dir, KEEP);
    for (const variant of ["floor", "kit"]) {
      results[variant] = attribute(
        await profileRun(session, bench.origin, `/${route}/${variant}/${QUERY}`),
        lineToModule,
      );
    }
    const floor = results.floor as ReturnType<typeof attribute>;
    const kit = results.kit as ReturnType<typeof attribute>;
    const names = [...new Set([...floor.groups.keys(), ...kit.groups.keys()])].filter((name) => name !== "(idle)");
    const busy = (r: ReturnType<typeof attribute>) =>
      [...r.groups].filter(([name]) => name !== "(idle)").reduce((sum, [, ms]) => sum + ms, 0);
    console.log(`\n${route} ${QUERY}: CPU ms for ${REQUESTS} requests at concurrency ${CONCURRENCY}`);
    console.log("| where | floor | kit | kit − floor |\n| --- | --- | --- | --- |");
    for (const name of names.sort((a, b) => (kit.groups.get(b) ?? 0) - (kit.groups.get(a) ?? 0))) {
      const f = floor.groups.get(name) ?? 0;
      const k = kit.groups.get(name) ?? 0;
      console.log(`| ${name} | ${f.toFixed(0)} | ${k.toFixed(0)} | ${(k - f).toFixed(0)} |`);
    }
    console.log(
      `| busy total | ${busy(floor).toFixed(0)} | ${busy(kit).toFixed(0)} | ${(busy(kit) - busy(floor)).toFixed(0)} |`,
    );
    const top = [...kit.coreFunctions].sort((a, b) => b[1] - a[1]).slice(0, 10);
    console.log(
      `where core and unattributed code spend most (kit): ${top.map(([name, ms]) => `${name} ${ms.toFixed(1)} ms`).join(", ")}`,
    );
  }
  session.close();
} finally {
  await bench.close();
}
