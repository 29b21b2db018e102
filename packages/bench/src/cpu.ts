/**
 * CPU time the Worker's runtime has used, read from Linux's scheduler statistics: the workerd processes this bench
 * started, all their threads, in nanoseconds. At concurrency 8 on a small machine, requests per second mostly measure
 * what else the cores were doing; the CPU the runtime spent per request is what the handle adds to a Worker's bill
 * and the figure that decides throughput once the CPU is the limit.
 */
import { readdirSync } from "node:fs";
import { readProcFile as read } from "@hyperdrive-kit/testing/wrangler-dev";

export { descendants, workerdPids } from "@hyperdrive-kit/testing/wrangler-dev";

/** Nanoseconds on CPU, summed over every thread of the given processes. */
export function cpuNanoseconds(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) {
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const task of tasks) total += Number(read(`/proc/${pid}/task/${task}/schedstat`)?.split(" ")[0] ?? 0);
  }
  return total;
}

/** The machine's CPU time so far, from /proc/stat: all of it, and what the hypervisor took for other guests. */
export function machineTicks(): { total: number; steal: number } {
  const fields = (read("/proc/stat") ?? "").split("\n")[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
  return { total: fields.reduce((sum, value) => sum + value, 0), steal: fields[7] ?? 0 };
}
