/**
 * CPU time the Worker's runtime has used, read from Linux's scheduler statistics: the workerd processes this bench
 * started, all their threads, in nanoseconds. At concurrency 8 on a small machine, requests per second mostly measure
 * what else the cores were doing; the CPU the runtime spent per request is what the handle adds to a Worker's bill
 * and the figure that decides throughput once the CPU is the limit.
 */
import { readdirSync, readFileSync } from "node:fs";

function read(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined; // the process or thread has just gone
  }
}

/** The processes below this one, with their command names (`comm`). */
export function descendants(): Map<number, string> {
  const parents = new Map<number, number>();
  const names = new Map<number, string>();
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const stat = read(`/proc/${pid}/stat`);
    if (stat === undefined) continue;
    // "pid (comm) state ppid ...": comm may hold spaces, so split after its closing parenthesis.
    const close = stat.lastIndexOf(")");
    names.set(pid, stat.slice(stat.indexOf("(") + 1, close));
    parents.set(pid, Number(stat.slice(close + 2).split(" ")[1]));
  }
  const below = (pid: number): boolean => {
    for (let p = parents.get(pid); p !== undefined && p > 1; p = parents.get(p)) if (p === process.pid) return true;
    return false;
  };
  return new Map([...names].filter(([pid]) => below(pid)));
}

/** The workerd processes below this one (wrangler dev starts them), found once. */
export function workerdPids(): number[] {
  const pids = [...descendants()].filter(([, name]) => name === "workerd").map(([pid]) => pid);
  if (pids.length === 0) throw new Error("No workerd process found below this bench: is wrangler dev running?");
  return pids;
}

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
