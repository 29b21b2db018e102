/** The soak's table, and every target it missed with the evidence (route, scenario, code, message). */
import type { Engine } from "@hyperdrive-kit/testing/wrangler-dev";
import { FAULT_DESCRIPTIONS, FAULTS, type FaultClass, type FaultEvent } from "./faults.ts";
import type { Result } from "./requests.ts";

export interface Sample {
  at: number;
  /** Taken after the warm-up share of the load. */
  warm: boolean;
  /**
   * How long a request the Worker answers at once (the A/A control route) took: the machine's own latency, from this
   * process through wrangler's proxy to the isolate and back, beside the requests' bounds.
   */
  controlMs: number;
  rssMiB: number;
  /** The RSS of the workerd that runs the Worker, without wrangler's proxy. */
  workerRssMiB: number;
  /** The isolate's JavaScript heap in use (`Runtime.getHeapUsage`, no GC forced: garbage included). */
  heapMiB: number;
  server: Record<Engine, number>;
  proxy: Record<Engine, number>;
}

/** Memory with the Worker idle: the isolate's JavaScript heap after a full GC, and RSS. */
export interface Memory {
  heapMiB: number;
  /** Both workerd processes of wrangler dev (the Worker's and wrangler's proxy). */
  rssMiB: number;
  /** The workerd that runs the Worker. */
  workerRssMiB: number;
}

export interface Recovery {
  fault: FaultClass;
  target: string;
  ms: number;
}

export interface SoakData {
  results: Result[];
  faults: FaultEvent[];
  recoveries: Recovery[];
  samples: Sample[];
  afterRun: Record<Engine, { server: number; proxy: number }>;
  afterIdle: Record<Engine, { server: number; proxy: number }>;
  /** Idle after the warm-up (undefined if the load never got there) and after the run. */
  memory: { warm: Memory | undefined; end: Memory };
  idleMs: number;
  /** Each fault class must have run at least this many times. */
  faultsEach: number;
  unhandled: { handle: string[]; runtimeSocketLoss: number };
  log: string;
  secrets: string[];
  header: string;
}

/** Recovery target after each fault. */
const RECOVERY_MS = 2000;
/**
 * The JavaScript heap is flat when, idle and after a full GC, it is at the end within this of its size after the
 * warm-up. RSS is reported, not a target: it grows as much with no handle and no database at all (the README's A/A
 * control), in wrangler's own proxy process.
 */
const HEAP_GROWTH = 1.1;
/** workerd's own lines for a peer reset during a read, which no code can observe (runtime-socket-loss.ts). */
const RUNTIME_LOSS_LINE = /Network connection lost\.|Stream was cancelled\.|This socket has been closed\./;

const HUNG_LINE = /code had hung|would never generate a response/;

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};
const tally = (values: string[]) => {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]);
};
const list = (counts: Array<[string, number]>) => counts.map(([code, n]) => `${code} ${n}`).join(", ") || "–";

export function report(data: SoakData): { table: string; misses: string[] } {
  const misses: string[] = [];
  const out: string[] = [`Soak, ${data.header}`, ""];
  const targets = [...new Set(data.results.map((r) => r.target))];

  out.push(
    "| route | requests | ok | typed, by code | database's own | untyped | hung | ended early | past bound + 1 s | kept handle refused | recovery max (ms) |",
    "| --- | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | --- | ---: |",
  );
  for (const target of targets) {
    const mine = data.results.filter((r) => r.target === target);
    // Misuse requests that found a kept handle, and those whose kept handle was refused with a typed error.
    const misuse = mine.filter((r) => r.scenario === "misuse" && r.refused !== undefined && r.refused !== "none");
    const refused = misuse.filter((r) => r.refused?.startsWith("HDK_"));
    const recovery = Math.max(0, ...data.recoveries.filter((r) => r.target === target).map((r) => r.ms));
    out.push(
      `| ${target} | ${mine.length} | ${mine.filter((r) => r.kind === "ok").length} | ${list(tally(mine.filter((r) => r.kind === "typed").map((r) => r.code)))} | ${list(tally(mine.filter((r) => r.kind === "database").map((r) => r.code)))} | ${mine.filter((r) => r.kind === "untyped").length} | ${mine.filter((r) => r.hung).length} | ${mine.filter((r) => r.endedEarly).length} | ${mine.filter((r) => r.overBound).length} | ${refused.length} of ${misuse.length} (${list(tally(refused.map((r) => r.refused as string)))}) | ${Number.isFinite(recovery) ? recovery.toFixed(0) : "never"} |`,
    );
  }

  // Per-request misses, grouped with a sample message as evidence.
  const grouped = (what: string, pick: (r: Result) => boolean) => {
    for (const [key, n] of tally(data.results.filter(pick).map((r) => `${r.target} ${r.scenario} ${r.code}`))) {
      const sample = data.results.find((r) => pick(r) && `${r.target} ${r.scenario} ${r.code}` === key);
      misses.push(
        `${what}: ${key} ×${n}${sample?.message ? ` (${sample.message.replace(/\s+/g, " ").slice(0, 200)})` : ""}`,
      );
    }
  };
  grouped("untyped", (r) => r.kind === "untyped" && !r.endedEarly && !r.hung);
  grouped("hung", (r) => r.hung);
  grouped("ended early", (r) => r.endedEarly);
  grouped("past its bound + 1 s", (r) => r.overBound);
  grouped("synchronous throw from a promise call", (r) => r.syncThrow);
  const secretBodies = data.results.filter((r) => r.secret).length;
  if (secretBodies > 0) misses.push(`a secret in ${secretBodies} response bodies`);

  // Faults and recovery.
  out.push(
    "",
    "| fault | times | open connections when it began (median, pg / mysql) | recovery, every route (median / max ms) |",
    "| --- | ---: | --- | --- |",
  );
  for (const fault of FAULTS) {
    const events = data.faults.filter((e) => e.fault === fault);
    const times = data.recoveries.filter((r) => r.fault === fault).map((r) => r.ms);
    out.push(
      `| ${fault}: ${FAULT_DESCRIPTIONS[fault]} | ${events.length} | ${median(events.map((e) => e.inFlight.postgres))} / ${median(events.map((e) => e.inFlight.mysql))} | ${median(times).toFixed(0)} / ${Math.max(0, ...times).toFixed(0)} |`,
    );
    if (events.length < data.faultsEach)
      misses.push(`fault ${fault} ran ${events.length} times, fewer than ${data.faultsEach}`);
  }
  for (const [key, n] of tally(
    data.recoveries.filter((r) => r.ms > RECOVERY_MS).map((r) => `${r.target} after ${r.fault}`),
  ))
    misses.push(
      `recovery over ${RECOVERY_MS} ms: ${key} ×${n} (max ${Math.max(...data.recoveries.filter((r) => `${r.target} after ${r.fault}` === key).map((r) => r.ms)).toFixed(0)} ms)`,
    );

  // Connections, memory, the runtime's log.
  const leaks = (when: string, counts: SoakData["afterRun"]) => {
    for (const [engine, { server, proxy }] of Object.entries(counts))
      if (server !== 0 || proxy !== 0)
        misses.push(`connections left ${when} on ${engine}: ${server} on the server, ${proxy} at the proxy`);
  };
  leaks("after the run", data.afterRun);
  leaks(`after ${data.idleMs / 1000} s idle`, data.afterIdle);
  const { warm, end } = data.memory;
  if (!warm) misses.push("no memory measured after the warm-up");
  else if (end.heapMiB > warm.heapMiB * HEAP_GROWTH)
    misses.push(`JS heap after GC grew from ${warm.heapMiB.toFixed(1)} to ${end.heapMiB.toFixed(1)} MiB after warm-up`);
  const rssMax = Math.max(0, ...data.samples.map((s) => s.rssMiB));
  const heapMax = Math.max(0, ...data.samples.map((s) => s.heapMiB));
  const mib = (value: number | undefined) => (value === undefined ? "?" : value.toFixed(0));
  const peak = (engine: Engine) => Math.max(0, ...data.samples.map((s) => s.server[engine]));

  const lines = data.log.split("\n");
  const uncaught = lines.filter((l) => /Uncaught/.test(l));
  const hungLines = lines.filter((l) => HUNG_LINE.test(l));
  // Neither workerd's peer-reset lines nor its hang cancellations (counted as hangs) are the handle's own.
  const uncaughtHandle = uncaught.filter((l) => !RUNTIME_LOSS_LINE.test(l) && !HUNG_LINE.test(l));
  const secretLines = lines.filter((l) => data.secrets.some((s) => l.includes(s)));
  for (const line of tally(uncaughtHandle.map((l) => l.trim().slice(0, 160))))
    misses.push(`"Uncaught" in the log ×${line[1]}: ${line[0]}`);
  for (const reason of tally(data.unhandled.handle.map((r) => r.split("\n")[0] ?? r)))
    misses.push(`unhandled rejection ×${reason[1]}: ${reason[0]}`);
  if (hungLines.length > 0) misses.push(`${hungLines.length} hang cancellations in the log`);
  if (secretLines.length > 0) misses.push(`a secret in ${secretLines.length} log lines`);

  const load = data.results.filter((r) => !r.probe);
  out.push(
    "",
    `Totals: ${load.length} load requests and ${data.results.length - load.length} recovery probes; ok ${data.results.filter((r) => r.kind === "ok").length}, typed ${data.results.filter((r) => r.kind === "typed").length}, database's own ${data.results.filter((r) => r.kind === "database").length}, untyped ${data.results.filter((r) => r.kind === "untyped").length}, hung ${data.results.filter((r) => r.hung).length} (log: ${hungLines.length}), ended early ${data.results.filter((r) => r.endedEarly).length}, past bound + 1 s ${data.results.filter((r) => r.overBound).length}, synchronous throws ${data.results.filter((r) => r.syncThrow).length}.`,
    `Unhandled rejections: ${data.unhandled.handle.length} (and ${data.unhandled.runtimeSocketLoss} of workerd's own on a peer reset, see the README). "Uncaught" log lines: ${uncaught.length}, ${uncaughtHandle.length} not workerd's peer-reset lines. Secrets: ${secretBodies} bodies, ${secretLines.length} log lines.`,
    `Server connections: peak ${peak("postgres")} (PostgreSQL) / ${peak("mysql")} (MariaDB); left after the run ${data.afterRun.postgres.server} / ${data.afterRun.mysql.server} (proxy ${data.afterRun.postgres.proxy} / ${data.afterRun.mysql.proxy}), after ${data.idleMs / 1000} s idle ${data.afterIdle.postgres.server} / ${data.afterIdle.mysql.server}.`,
    `Latency of a request the Worker answers at once, sampled every 2 s: median ${median(data.samples.map((s) => s.controlMs)).toFixed(0)} ms, max ${Math.max(0, ...data.samples.map((s) => s.controlMs)).toFixed(0)} ms (the machine's load, outside any handle).`,
    `Memory, idle after the warm-up → after the run: JS heap after a full GC ${warm?.heapMiB.toFixed(1) ?? "?"} → ${end.heapMiB.toFixed(1)} MiB (in use under load at most ${heapMax.toFixed(0)} MiB); RSS of wrangler dev's two workerd processes ${mib(warm?.rssMiB)} → ${mib(end.rssMiB)} MiB (peak ${rssMax.toFixed(0)}), of which the Worker's ${mib(warm?.workerRssMiB)} → ${mib(end.workerRssMiB)} MiB and wrangler's proxy's ${mib(warm && warm.rssMiB - warm.workerRssMiB)} → ${mib(end.rssMiB - end.workerRssMiB)} MiB.`,
  );
  return { table: out.join("\n"), misses };
}
