/**
 * `pnpm --filter @hyperdrive-kit/bench instructions`: the machine instructions the Worker's runtime executes per
 * request, floor against docs against kit, counted by valgrind (callgrind) inside the workerd process that runs the
 * bench Worker. Time and CPU time on a shared 2-core machine swing by ±15% between rounds; an instruction count does
 * not depend on what else the machine is doing, so it can settle a few percent. It is the CPU a request costs, which
 * is what decides throughput once the CPU is the limit (and what a Worker is billed for).
 *
 * workerd runs under callgrind (about 40× slower; `MINIFLARE_WORKERD_PATH` points wrangler at a wrapper). Each route
 * and query is warmed up until V8 has compiled the hot code, then measured in blocks of sequential requests that
 * alternate between the variants (rotating order): counters zeroed, the block sent, its connections closed (each
 * variant pays for its own teardown), counters read. Reported per variant: the median over rounds and the lowest
 * block, the ratios per round as the median with the range, and the ratio of the lowest blocks.
 *
 * Environment: HDK_BENCH_ONLY (comma-separated routes), HDK_INSTR_QUERY (`plain` or `param`, default both),
 * HDK_INSTR_ROUNDS (5), HDK_INSTR_BLOCK (requests per block, 20), HDK_INSTR_WARM (warm-up requests per variant, 40),
 * HDK_INSTR_VARIANTS (comma-separated, all four by default), HDK_INSTR_KEEP (a directory: keeps each block's
 * profile there, `callgrind.<pid>.<n>` labelled `<route>-<query>-<variant>-<round>`, for `callgrind_annotate`, and
 * prints their self cost summed by where the code lives: see `callgrind-groups.ts`).
 * Needs valgrind (`apt-get install -y valgrind`).
 */
import { execFileSync } from "node:child_process";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FaultProxy } from "@hyperdrive-kit/testing/proxy";
import { groupTable, writeRunInfo } from "./callgrind-groups.ts";
import { descendants } from "./cpu.ts";
import { closed, engineOf, get, numberFrom, path, QUERIES, selectedRoutes, VARIANTS } from "./routes.ts";
import { RUNTIME_LABEL, startBench } from "./setup.ts";
import { ratioSummary, summarize } from "./stats.ts";
import { fromWrangler } from "./wrangler.ts";

const ROUNDS = numberFrom("HDK_INSTR_ROUNDS", 5);
const BLOCK = numberFrom("HDK_INSTR_BLOCK", 20);
const WARM = numberFrom("HDK_INSTR_WARM", 40);
/** The bench Worker's variants to count; ratios are taken against `floor` and `docs` when they are counted. */
const variants: readonly string[] = process.env.HDK_INSTR_VARIANTS?.split(",").filter(Boolean) ?? VARIANTS;
const queries = QUERIES.filter((query) => (process.env.HDK_INSTR_QUERY ?? query) === query);

function callgrind(args: string[]): string {
  return execFileSync("callgrind_control", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
}

/** The workerd binary wrangler would start: resolved through wrangler's own miniflare. */
async function workerdBinary(): Promise<string> {
  const fromMiniflare = createRequire(fromWrangler.resolve("miniflare"));
  // A CommonJS module whose exports' `default` is the binary's path.
  const workerd = (await import(fromMiniflare.resolve("workerd"))) as { default: string | { default: string } };
  return typeof workerd.default === "string" ? workerd.default : workerd.default.default;
}

/**
 * The pid of the workerd that runs the bench Worker, below this process (another bench may run under callgrind
 * too); wrangler's own entry worker runs in another workerd, without an inspector.
 */
function workerPid(): number {
  // Under valgrind a process's command name is the tool's (`callgrind-amd64-`), not workerd.
  const candidates = [...descendants()].filter(([, name]) => name.startsWith("callgrind"));
  const sections = candidates.flatMap(([pid]) =>
    callgrind(["-s", String(pid)])
      .split(/^PID /m)
      .slice(1),
  );
  const worker = sections.find((section) => section.includes("--inspector-addr"));
  if (!worker)
    throw new Error(`No workerd with an inspector runs under callgrind below this process:\n${sections.join("\n")}`);
  return Number.parseInt(worker, 10);
}

/** Instructions executed by every thread of `pid` since the counters were last zeroed. */
function instructions(pid: number): number {
  const out = callgrind(["-e", "Ir", String(pid)]);
  const threads = [...out.matchAll(/^\s+Th \d+\s+([\d,]+)/gm)];
  if (threads.length === 0) throw new Error(`callgrind_control printed no counters:\n${out}`);
  return threads.reduce((sum, match) => sum + Number((match[1] as string).replaceAll(",", "")), 0);
}

async function main(): Promise<void> {
  try {
    execFileSync("valgrind", ["--version"], { stdio: "ignore" });
  } catch {
    throw new Error("valgrind is not installed: apt-get install -y valgrind (Debian), then run this again.");
  }
  const keep = process.env.HDK_INSTR_KEEP;
  const scratch = await mkdtemp(join(tmpdir(), "hdk-instr-"));
  const profiles = keep ?? scratch;
  const wrapper = join(scratch, "workerd");
  await writeFile(
    wrapper,
    `#!/bin/sh\nexec valgrind --tool=callgrind --callgrind-out-file=${profiles}/callgrind.%p --dump-instr=no --collect-jumps=no -q ${await workerdBinary()} "$@"\n`,
  );
  await chmod(wrapper, 0o755);
  process.env.MINIFLARE_WORKERD_PATH = wrapper;
  if (keep) await writeRunInfo(keep, BLOCK);
  const routes = selectedRoutes();
  const { proxies, origin, close } = await startBench(routes.map(engineOf));
  try {
    const pid = workerPid();
    console.log(
      `hyperdrive-kit: instructions per request inside workerd (callgrind; ${RUNTIME_LABEL}), ${new Date().toISOString().slice(0, 10)}`,
    );
    console.log(
      `${ROUNDS} rounds of one block of ${BLOCK} sequential requests per variant, after ${WARM} warm-up requests per variant; teardown included. Ratios per round: median (min–max); then the ratio of the two variants' lowest blocks.\n`,
    );
    console.log(
      "| route | query | variant | M instructions/req: median (lowest block) | ÷ floor: per round; lowest blocks | ÷ docs: per round; lowest blocks |",
    );
    console.log(`|${" --- |".repeat(6)}`);
    for (const route of routes) {
      const proxy = proxies[engineOf(route)] as FaultProxy;
      for (const query of queries) {
        for (let i = 0; i < WARM; i++) for (const variant of variants) await get(origin, path(route, variant, query));
        const perRequest = new Map<string, number[]>(variants.map((variant) => [variant, []]));
        for (let round = 0; round < ROUNDS; round++) {
          for (let k = 0; k < variants.length; k++) {
            const variant = variants[(round + k) % variants.length] as string;
            await closed(proxy, 30_000);
            callgrind(["-z", String(pid)]);
            for (let i = 0; i < BLOCK; i++) await get(origin, path(route, variant, query));
            // Under callgrind a teardown takes tens of ms: wait for it, so that each variant pays its own.
            await closed(proxy, 30_000);
            await new Promise((resolve) => setTimeout(resolve, 200));
            perRequest.get(variant)?.push(instructions(pid) / BLOCK);
            if (keep) callgrind([`--dump=${route}-${query}-${variant}-${round}`, String(pid)]);
          }
        }
        // A block that holds one of V8's larger collections stands out; the lowest block of each variant is the
        // one with the fewest, so its ratio is shown beside the per-round ratios.
        const ratio = (a: string, b: string) => {
          const [numerator, denominator] = [perRequest.get(a), perRequest.get(b)];
          if (a === b || !numerator || !denominator) return "";
          const s = ratioSummary(numerator, denominator);
          const lowest = Math.min(...numerator) / Math.min(...denominator);
          return `${s.median.toFixed(3)} (${s.min.toFixed(3)}–${s.max.toFixed(3)}); ${lowest.toFixed(3)}`;
        };
        for (const [variant, values] of perRequest) {
          const millions = `${(summarize(values).p50 / 1e6).toFixed(3)} (${(Math.min(...values) / 1e6).toFixed(3)})`;
          console.log(
            `| ${route} | ${query} | ${variant} | ${millions} | ${ratio(variant, "floor")} | ${ratio(variant, "docs")} |`,
          );
        }
      }
    }
  } finally {
    await close();
    await rm(scratch, { recursive: true, force: true });
  }
  if (keep) console.log(`\n${await groupTable(keep)}`);
}

await main();
