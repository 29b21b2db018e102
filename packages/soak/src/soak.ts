/**
 * `pnpm soak`: every adapter, mode and integration in one Worker in `wrangler dev`, under load at a fixed
 * concurrency, while a fault schedule (kill, reset, blackhole, delay, stop; see `faults.ts`) lands on work in flight.
 * Counts per request what it ended in, samples the servers' connections, workerd's RSS and the isolate's JS heap
 * (through wrangler dev's inspector), probes every route after each fault for the time to recover, and exits 1 on any
 * miss (`report.ts` lists them).
 *
 * Environment: HDK_SOAK_REQUESTS (load requests, 10,000; `pnpm test` runs 2,000), HDK_SOAK_CONCURRENCY (12),
 * HDK_SOAK_FAULTS (each fault class at least this many times, 5; 0 for a control run without faults), HDK_SOAK_IDLE_MS (the wait before the second
 * leak count, 30,000), HDK_SOAK_GAP_MS (between faults, 1,000 to twice it), HDK_SOAK_OUT (a file for the results as JSON), HDK_SOAK_ONLY (routes, comma-separated: for looking into one), HDK_SOAK_POSTGRES_JS (3 or 4: the Postgres.js major of the Postgres.js routes, 3).
 */
import { writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import type { Engine } from "@hyperdrive-kit/testing/wrangler-dev";
import { inspector, residentMiB, workerdPids, workerdRoles } from "@hyperdrive-kit/testing/wrangler-dev";
import { startSoak } from "./environment.ts";
import { FAULTS, type FaultClass, type FaultEvent, inject } from "./faults.ts";
import { type Memory, type Recovery, report, type Sample } from "./report.ts";
import { type Result, send } from "./requests.ts";

const numberFrom = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number`);
  return value;
};
const REQUESTS = numberFrom("HDK_SOAK_REQUESTS", 10_000);
const CONCURRENCY = numberFrom("HDK_SOAK_CONCURRENCY", 12);
const FAULTS_EACH = numberFrom("HDK_SOAK_FAULTS", 5);
const IDLE_MS = numberFrom("HDK_SOAK_IDLE_MS", 30_000);
/** A fault starts this long (up to twice it) after the routes answered again after the last one. */
const GAP_MS = numberFrom("HDK_SOAK_GAP_MS", 1000);
/** How often each scenario comes up in the load, out of 11. */
const MIX: Record<string, number> = { query: 3, transaction: 2, parallel: 2, stream: 1, long: 1, misuse: 2 };
/**
 * The warm-up, after which the isolate's JS heap (idle, after a full GC) must stay flat: the first 1,500 requests or
 * half the load, whichever is less, so every route and scenario has run and been compiled many times.
 */
const WARM_REQUESTS = Math.min(1500, REQUESTS / 2);
const ENGINES: readonly Engine[] = ["postgres", "mysql"];
/** Recovery probes of one route in flight at once, at most. */
const PROBES_IN_FLIGHT = 2;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function shuffled<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

async function main(): Promise<void> {
  const began = Date.now();
  const logs: string[] = [];
  const env = await startSoak((text) => logs.push(text));
  const started = Date.now();
  const results: Result[] = [];
  const faults: FaultEvent[] = [];
  const recoveries: Recovery[] = [];
  const samples: Sample[] = [];
  try {
    const only = process.env.HDK_SOAK_ONLY?.split(",").filter(Boolean);
    // `control` (answered without a database) only when asked for: the A/A control for memory.
    const targets = only ?? ((await (await fetch(`${env.origin}/targets`)).json()) as string[]);
    const deck = shuffled(
      targets.flatMap((target) =>
        Object.entries(MIX).flatMap(([scenario, weight]) =>
          Array.from({ length: weight }, () => ({ target, scenario })),
        ),
      ),
    );
    // Every route once before the clock starts: bundling and first compiles are not the soak's subject.
    await Promise.all(deck.map(({ target, scenario }) => send(env.origin, target, scenario, env.secrets)));
    const pids = workerdPids();
    const session = await inspector(env.inspectorPort);
    const roles = workerdRoles(pids);
    const heapMiB = async (gc: boolean) => {
      if (gc) {
        // V8 runs an inspector's GC as a task on the isolate's thread, which workerd pumps only while it has work:
        // a request lets it run.
        const collected = session.send("HeapProfiler.collectGarbage");
        await fetch(`${env.origin}/stats`).then((response) => response.arrayBuffer());
        await collected;
      }
      return (await session.send<{ usedSize: number }>("Runtime.getHeapUsage")).usedSize / 2 ** 20;
    };
    console.log(
      `soak: ${targets.length} routes × ${Object.keys(MIX).length} scenarios on Postgres.js ${env.postgresJs}, ${REQUESTS} requests at concurrency ${CONCURRENCY}, each fault class ≥ ${FAULTS_EACH}× (set up in ${((started - began) / 1000).toFixed(0)} s)`,
    );

    /** Memory with the Worker idle (the load paused, teardowns done): after the warm-up, and after the run. */
    const idleMemory = async (): Promise<Memory> => {
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && ENGINES.some((e) => env.servers[e].proxy.connections > 0)) await sleep(100);
      return {
        heapMiB: await heapMiB(true),
        rssMiB: residentMiB(pids),
        workerRssMiB: residentMiB(roles.worker),
      };
    };

    let sent = 0;
    let inFlight = 0;
    let faultsDone = false;
    let loadDone = false;
    let warmDone = false;
    let warmPause: Promise<Memory> | undefined;
    const loadStart = Date.now();
    const load = Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (sent < REQUESTS || !faultsDone) {
          if (!warmDone && sent >= WARM_REQUESTS) {
            // The warm-up's end: every load request answered, then the heap after a full GC, once.
            warmPause ??= (async () => {
              while (inFlight > 0) await sleep(20);
              return idleMemory();
            })();
            await warmPause;
            warmDone = true;
          }
          const { target, scenario } = deck[sent++ % deck.length] as { target: string; scenario: string };
          inFlight++;
          results.push(await send(env.origin, target, scenario, env.secrets));
          inFlight--;
        }
      }),
    ).finally(() => {
      loadDone = true;
    });

    const sampling = (async () => {
      while (!loadDone) {
        const at = Date.now();
        const server = Object.fromEntries(
          await Promise.all(ENGINES.map(async (e) => [e, await env.admin[e].connections().catch(() => -1)])),
        ) as Record<Engine, number>;
        const control = performance.now();
        await fetch(`${env.origin}/control/query`).then((response) => response.arrayBuffer());
        samples.push({
          at,
          controlMs: performance.now() - control,
          warm: sent >= WARM_REQUESTS,
          rssMiB: residentMiB(pids),
          workerRssMiB: residentMiB(roles.worker),
          heapMiB: await heapMiB(false),
          server,
          proxy: Object.fromEntries(ENGINES.map((e) => [e, env.servers[e].proxy.connections])) as Record<
            Engine,
            number
          >,
        });
        await sleep(2000);
      }
    })();

    /**
     * Each route's `query`, a new request every 100 ms (at most PROBES_IN_FLIGHT at once) from the fault's end until
     * one answers 200: the recovery is the time from the fault's end to the start of the first request that answered
     * (the route works again for what is sent from then on). How long an answer itself takes is the machine's load,
     * bounded apart (past bound + 1 s); one slow probe does not hold up the next.
     */
    const probe = async (event: FaultEvent) => {
      await Promise.all(
        targets.map(async (target) => {
          const pending = new Set<Promise<void>>();
          let first = Number.POSITIVE_INFINITY;
          while (!Number.isFinite(first) && Date.now() - event.end <= 30_000) {
            if (pending.size < PROBES_IN_FLIGHT) {
              const request = send(env.origin, target, "query", env.secrets, true).then((result) => {
                results.push(result);
                if (result.status === 200) first = Math.min(first, result.start);
                pending.delete(request);
              });
              pending.add(request);
            }
            await sleep(100);
          }
          await Promise.all(pending);
          recoveries.push({ fault: event.fault, target, ms: Math.max(0, first - event.end) });
        }),
      );
    };

    const schedule = (async () => {
      // HDK_SOAK_FAULTS=0: a control run, the same load with no fault at all.
      for (let round = 0; FAULTS_EACH > 0; round++) {
        for (const fault of shuffled([...FAULTS]) as FaultClass[]) {
          await sleep(GAP_MS * (1 + Math.random()));
          const event = await inject(env, fault);
          faults.push(event);
          // The next fault waits until every route has answered again: a recovery is this fault's alone.
          await probe(event);
        }
        if (round + 1 >= FAULTS_EACH && sent >= REQUESTS * 0.9) break;
      }
      faultsDone = true;
    })();

    await Promise.all([load, schedule, sampling]);
    const loadMs = Date.now() - loadStart;

    // Teardown runs through waitUntil after each response (bounded by teardownTimeoutMs, 5 s).
    await sleep(6000);
    const count = async () =>
      Object.fromEntries(
        await Promise.all(
          ENGINES.map(async (e) => [
            e,
            { server: await env.admin[e].connections().catch(() => -1), proxy: env.servers[e].proxy.connections },
          ]),
        ),
      ) as Record<Engine, { server: number; proxy: number }>;
    const afterRun = await count();
    await sleep(IDLE_MS);
    const afterIdle = await count();
    const memory = { warm: await warmPause, end: await idleMemory() };
    const stats = (await (await fetch(`${env.origin}/stats`)).json()) as {
      handle: string[];
      runtimeSocketLoss: number;
    };

    const measured = { results, faults, recoveries, samples, afterRun, afterIdle, memory };
    const { table, misses } = report({
      ...measured,
      idleMs: IDLE_MS,
      faultsEach: FAULTS_EACH,
      unhandled: stats,
      log: logs.join(""),
      secrets: env.secrets,
      header: `${new Date().toISOString().slice(0, 16)}Z, ${cpus().length} × ${cpus()[0]?.model ?? "CPU"}, Node ${process.version}, wrangler dev; ${results.filter((r) => !r.probe).length} load requests at concurrency ${CONCURRENCY} in ${(loadMs / 1000).toFixed(0)} s, ${faults.length} faults; wall time ${((Date.now() - began) / 1000).toFixed(0)} s`,
    });
    console.log(table);
    if (process.env.HDK_SOAK_OUT)
      await writeFile(process.env.HDK_SOAK_OUT, JSON.stringify({ ...measured, stats, log: logs.join("") }));
    if (misses.length > 0) {
      console.error(`\nsoak: ${misses.length} miss(es):\n${misses.map((m) => `- ${m}`).join("\n")}`);
      process.exitCode = 1;
    } else console.log("\nsoak: every target met");
  } finally {
    await env.close();
  }
}

await main();
