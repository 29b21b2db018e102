/**
 * `pnpm bench`: the handle against the raw driver, inside workerd (`wrangler dev`, over HTTP), for every driver and
 * mode, against two baselines in the same run: the raw code as Cloudflare's docs write it (`docs`, closing through
 * `ctx.waitUntil(client.end())`) and the same without closing (`floor`). `kit-none` is the handle with
 * `teardown: "none"`, which closes nothing either: the floor's counterpart. Real PostgreSQL and MariaDB servers, each
 * behind the testing package's fault proxy, which adds a per-chunk delay for the delayed runs and counts round trips.
 *
 * Why wrangler dev and not the Vitest pool: it is the runtime as users run their Worker locally, requests arrive over
 * real HTTP (the framing and the body's path are what a client gets), and no test runner shares the isolate.
 *
 * Variants take turns in runs of HDK_BENCH_RUN requests (the order rotates), so drift and other load on the machine
 * hit all of them alike, and each timed request follows one of its own variant (see `latencies`); ratios are taken
 * per round and reported as the median with the spread over rounds. The concurrency-8 run alternates short blocks of
 * each variant and also reads workerd's CPU time per request (`cpu.ts`): on a shared 2-core machine requests per
 * second swing with whatever else runs, and CPU per request is the steadier figure.
 *
 * Environment: HDK_BENCH_REQUESTS (timed sequential requests per variant and round, default 150), HDK_BENCH_ROUNDS
 * (3), HDK_BENCH_THROUGHPUT (requests per variant and round at concurrency 8, 200), HDK_BENCH_DELAY_MS (per chunk and
 * direction in the delayed runs, 2), HDK_BENCH_WARM (warm-up cycles, one request per variant each, before the rounds
 * at 0 ms, 500), HDK_BENCH_RUN (sequential requests per variant in a row, the first untimed, 4; 1 for strict
 * interleaving with every request timed), HDK_BENCH_ONLY (comma-separated routes, e.g. `pg,mysql`),
 * HDK_BENCH_RUNTIME (`wrangler`, or `miniflare` for the same Worker without wrangler dev's inspector session: see
 * `setup.ts`), HDK_BENCH_CONTROL (1: also time the floor under another name, `floor-again`, the A/A control whose
 * ratio to the floor shows this run's own noise; 0 to leave it out).
 */
import type { FaultProxy } from "@hyperdrive-kit/testing/proxy";
import { cpuNanoseconds, machineTicks, workerdPids } from "./cpu.ts";
import {
  CONTROL,
  closed,
  engineOf,
  get as getFrom,
  keyedBy,
  numberFrom,
  path,
  QUERIES,
  type Route,
  selectedRoutes,
  VARIANTS,
  type Variant,
} from "./routes.ts";
import { RUNTIME_LABEL, startBench } from "./setup.ts";
import { ratioSummary, type Stats, summarize } from "./stats.ts";

const REQUESTS = numberFrom("HDK_BENCH_REQUESTS", 150);
const ROUNDS = numberFrom("HDK_BENCH_ROUNDS", 3);
const THROUGHPUT = numberFrom("HDK_BENCH_THROUGHPUT", 200);
const DELAY_MS = numberFrom("HDK_BENCH_DELAY_MS", 2);
const WARM = numberFrom("HDK_BENCH_WARM", 500);
const RUN = Math.max(1, numberFrom("HDK_BENCH_RUN", 4));
const CONTROL_ON = numberFrom("HDK_BENCH_CONTROL", 1) > 0;
const CONCURRENCY = 8;

/** What the timed runs take turns between: the four variants, and the A/A control. */
type Timed = Variant | typeof CONTROL;
const TIMED: readonly Timed[] = CONTROL_ON ? [...VARIANTS, CONTROL] : VARIANTS;
const perTimed = <T>(make: (variant: Timed) => T) => keyedBy(TIMED, make);
const routes = selectedRoutes();

let origin = "";
let workerd: number[] = [];
const get = (at: string) => getFrom(origin, at);

/**
 * Sequential requests in short runs of one variant, the variants taking turns (the order rotates); returns each
 * variant's latencies. The first request of a run is not timed: a request's teardown still runs in workerd while the
 * next one starts, so a timed request must follow one of its own kind, as it does in a Worker that runs one of them.
 * (Strictly interleaved, with a rotating order, every variant followed the same other one three times in four: kit
 * the docs' closing code and kit-none the kit, while the floor and the docs' code followed variants that close
 * nothing.) With HDK_BENCH_RUN=1, every request is timed, strictly interleaved, as before.
 */
async function latencies(route: Route, query: string): Promise<Record<Timed, number[]>> {
  const out = perTimed<number[]>(() => []);
  const timedPerRun = Math.max(1, RUN - 1);
  for (let i = 0, done = 0; done < REQUESTS; i++) {
    const timed = Math.min(timedPerRun, REQUESTS - done);
    done += timed;
    for (let k = 0; k < TIMED.length; k++) {
      const variant = TIMED[(i + k) % TIMED.length] as Timed;
      if (RUN > 1) await get(path(route, variant, query));
      for (let n = 0; n < timed; n++) out[variant].push(await get(path(route, variant, query)));
    }
  }
  return out;
}

/** Requests per variant in one block of the throughput run: short blocks, alternated, so drift hits all variants. */
const BLOCK = 25;

/**
 * Requests per second at concurrency 8, and the runtime's CPU time per request, in short alternating blocks (the
 * order rotates). A block's CPU is read once its connections have closed, so each variant pays for its own teardown.
 */
async function throughput(
  proxy: FaultProxy,
  route: Route,
  query: string,
  round: number,
): Promise<{ perSecond: Record<Timed, number>; cpuMicros: Record<Timed, number> }> {
  const elapsed = perTimed(() => 0);
  const cpu = perTimed(() => 0);
  const blocks = Math.ceil(THROUGHPUT / BLOCK);
  for (let b = 0; b < blocks; b++) {
    const size = Math.min(BLOCK, THROUGHPUT - b * BLOCK);
    for (let k = 0; k < TIMED.length; k++) {
      const variant = TIMED[(round + b + k) % TIMED.length] as Timed;
      const cpuBefore = cpuNanoseconds(workerd);
      let next = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next++ < size) await get(path(route, variant, query));
        }),
      );
      elapsed[variant] += performance.now() - started;
      await closed(proxy);
      cpu[variant] += cpuNanoseconds(workerd) - cpuBefore;
    }
  }
  return {
    perSecond: perTimed((variant) => THROUGHPUT / (elapsed[variant] / 1000)),
    cpuMicros: perTimed((variant) => cpu[variant] / 1000 / THROUGHPUT),
  };
}

/** Round trips of one request, as the proxy counts them, once the request's connections have closed. */
async function roundTrips(proxy: FaultProxy, route: Route, variant: Variant, query: string): Promise<number> {
  const before = proxy.stats.roundTrips;
  await get(path(route, variant, query));
  await closed(proxy);
  return proxy.stats.roundTrips - before;
}

const fmt = (n: number, digits = 2) => n.toFixed(digits);
const spread = (s: Stats) => `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})`;

async function main(): Promise<void> {
  const { proxies, origin: url, close } = await startBench(routes.map(engineOf));
  origin = url;
  workerd = workerdPids();
  const startTicks = machineTicks();
  try {
    console.log(
      `hyperdrive-kit bench inside workerd (${RUNTIME_LABEL}), ${new Date().toISOString().slice(0, 10)}, Node ${process.version}`,
    );
    console.log(
      `${WARM} warm-up cycles per route and query, then ${ROUNDS} rounds; per round and variant: ${REQUESTS} timed sequential requests (${RUN > 1 ? `runs of ${RUN}, the first untimed` : "strictly interleaved"}), ${THROUGHPUT} at concurrency ${CONCURRENCY}; delayed runs: +${DELAY_MS} ms per chunk each way`,
    );
    console.log(
      `Ratios are kit / baseline per round: median (min–max over rounds); p99: over all rounds' requests pooled (per-round min–max). CPU: the runtime's (workerd's) CPU time per request in the concurrency-8 run, teardown included. Lower latency and CPU ratios are better.${CONTROL_ON ? ` ${CONTROL}/floor: the floor timed twice under two names, the spread this run shows when nothing differs.` : ""}\n`,
    );

    // Round trips, at 0 ms, one request at a time.
    const trips: string[] = [];
    let tripsDiffer = false;
    for (const route of routes) {
      const proxy = proxies[engineOf(route)] as FaultProxy;
      for (const query of QUERIES) {
        for (const variant of VARIANTS) await get(path(route, variant, query)); // warm
        const counts = {} as Record<Variant, number>;
        for (const variant of VARIANTS) counts[variant] = await roundTrips(proxy, route, variant, query);
        const same = counts.kit === counts.floor && counts.kit === counts.docs && counts["kit-none"] === counts.floor;
        tripsDiffer ||= !same;
        trips.push(
          `| ${route} | ${query} | ${counts.floor} | ${counts.docs} | ${counts.kit} | ${counts["kit-none"]} | ${same ? "equal" : "DIFFERENT"} |`,
        );
      }
    }
    console.log("Round trips per request (connect, query, close), counted by the proxy\n");
    console.log(
      "| route | query | floor | docs | kit | kit-none | check |\n| --- | --- | --- | --- | --- | --- | --- |",
    );
    console.log(trips.join("\n"));

    for (const delay of [0, DELAY_MS]) {
      const rows: string[] = [];
      for (const route of routes) {
        const proxy = proxies[engineOf(route)] as FaultProxy;
        proxy.setMode(delay > 0 ? { kind: "delay", ms: delay } : { kind: "pass" });
        for (const query of QUERIES) {
          const p50 = perTimed<number[]>(() => []);
          const p99 = perTimed<number[]>(() => []);
          const all = perTimed<number[]>(() => []);
          const rps = perTimed<number[]>(() => []);
          const cpu = perTimed<number[]>(() => []);
          // Warm-up, interleaved like the rounds. V8 keeps tiering a Worker's functions up for several hundred
          // requests, and the handle's own functions run in half the variants, so they get there last; the full
          // warm-up once per route and query, and a short one after the delay changes.
          const warm = delay === 0 ? WARM : 10;
          for (let i = 0; i < warm; i++) for (const variant of TIMED) await get(path(route, variant, query));
          for (let round = 0; round < ROUNDS; round++) {
            const times = await latencies(route, query);
            for (const variant of TIMED) {
              const s = summarize(times[variant]);
              p50[variant].push(s.p50);
              p99[variant].push(s.p99);
              all[variant].push(...times[variant]);
            }
            const { perSecond, cpuMicros } = await throughput(proxy, route, query, round);
            for (const variant of TIMED) {
              rps[variant].push(perSecond[variant]);
              cpu[variant].push(cpuMicros[variant]);
            }
          }
          const med = (values: number[], digits = 2) => fmt(summarize(values).p50, digits);
          // p99 over every round's requests together: one round's 150 requests hold only one or two above it.
          const pooledP99 = perTimed((variant) => summarize(all[variant]).p99);
          rows.push(
            [
              route,
              query,
              `${med(p50.floor)} / ${med(p50.docs)} / ${med(p50.kit)}`,
              spread(ratioSummary(p50.kit, p50.floor)),
              spread(ratioSummary(p50.kit, p50.docs)),
              `${fmt(pooledP99.floor)} / ${fmt(pooledP99.docs)} / ${fmt(pooledP99.kit)}`,
              `${fmt(pooledP99.kit / pooledP99.floor)} (${fmt(ratioSummary(p99.kit, p99.floor).min)}–${fmt(ratioSummary(p99.kit, p99.floor).max)})`,
              `${med(rps.floor, 0)} / ${med(rps.docs, 0)} / ${med(rps.kit, 0)}`,
              spread(ratioSummary(rps.kit, rps.floor)),
              spread(ratioSummary(rps.kit, rps.docs)),
              `${med(cpu.floor, 0)} / ${med(cpu.docs, 0)} / ${med(cpu.kit, 0)}`,
              spread(ratioSummary(cpu.kit, cpu.floor)),
              spread(ratioSummary(cpu.kit, cpu.docs)),
              `${med(p50["kit-none"])}`,
              spread(ratioSummary(p50["kit-none"], p50.floor)),
              spread(ratioSummary(rps["kit-none"], rps.floor)),
              spread(ratioSummary(cpu["kit-none"], cpu.floor)),
              ...(CONTROL_ON
                ? [
                    spread(ratioSummary(p50[CONTROL], p50.floor)),
                    fmt(pooledP99[CONTROL] / pooledP99.floor),
                    spread(ratioSummary(rps[CONTROL], rps.floor)),
                    spread(ratioSummary(cpu[CONTROL], cpu.floor)),
                  ]
                : []),
            ].join(" | "),
          );
        }
      }
      console.log(`\n${delay === 0 ? "0 ms added" : `+${delay} ms per chunk each way`}\n`);
      const columns = [
        "route",
        "query",
        "p50 ms floor / docs / kit",
        "p50 kit/floor",
        "p50 kit/docs",
        "p99 ms floor / docs / kit",
        "p99 kit/floor",
        "req/s c=8 floor / docs / kit",
        "req/s kit/floor",
        "req/s kit/docs",
        "CPU µs/req floor / docs / kit",
        "CPU kit/floor",
        "CPU kit/docs",
        "p50 ms kit-none",
        "p50 kit-none/floor",
        "req/s kit-none/floor",
        "CPU kit-none/floor",
        ...(CONTROL_ON
          ? [`p50 ${CONTROL}/floor`, `p99 ${CONTROL}/floor`, `req/s ${CONTROL}/floor`, `CPU ${CONTROL}/floor`]
          : []),
      ];
      console.log(`| ${columns.join(" | ")} |`);
      console.log(`|${" --- |".repeat(columns.length)}`);
      for (const row of rows) console.log(`| ${row} |`);
    }
    const ticks = machineTicks();
    // On a virtual machine the host can take CPU from this one; a run with much of it stolen is noisier.
    console.log(
      `\nCPU stolen by the hypervisor during the run: ${fmt((100 * (ticks.steal - startTicks.steal)) / (ticks.total - startTicks.total), 1)}%`,
    );
    if (tripsDiffer) {
      console.error("\nThe handle's round trips differ from the raw driver's (table above).");
      process.exitCode = 1;
    }
  } finally {
    await close();
  }
}

await main();
