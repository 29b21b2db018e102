/**
 * Sums the self cost of kept callgrind profiles (`HDK_INSTR_KEEP`) by where the code lives, per route, query and
 * variant: the handle's cost over the floor is spread over hundreds of functions, and a sum per group (JavaScript,
 * V8's runtime, workerd, allocation, garbage collection, compilation) shows where it goes. `instructions` prints it
 * at the end of a run that keeps its profiles; `node src/callgrind-groups.ts <dir>` prints it for a kept directory.
 */
import { createReadStream } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import { VARIANTS } from "./routes.ts";
import { summarize } from "./stats.ts";

const GROUPS = ["JS and builtins", "V8 runtime", "workerd", "allocation", "GC", "compilation", "other"] as const;
type Group = (typeof GROUPS)[number];

/** Where a function lives, from its name as callgrind records it (the runtime is built with symbols). */
function groupOf(name: string): Group {
  // Parsers that are not the compiler's: `JSON.parse` (wrangler's entry worker runs one per request, the same for
  // every variant) and workerd's SQLite.
  if (name.includes("JsonParser")) return "V8 runtime";
  if (name.startsWith("sqlite3")) return "workerd";
  // `BytecodeAnalysis`, not every name with "Bytecode": stack capture reads bytecode offsets, which is runtime work.
  if (/compiler::|maglev|turboshaft|BytecodeAnalysis|Compiler::|Parser|Scanner|Deoptimizer/.test(name))
    return "compilation";
  if (/Scavenger|heap::|Heap::|MarkCompact|Sweeper|Marking|GlobalHandles|Evacuat|MemoryAllocator/.test(name))
    return "GC";
  if (/tcmalloc|memset|memcpy|memmove|operator new|operator delete|malloc|^free$/.test(name)) return "allocation";
  if (name.startsWith("Builtins_") || name.startsWith("0x")) return "JS and builtins";
  if (/kj::|workerd::|capnp::|kj_rs/.test(name)) return "workerd";
  if (name.includes("v8::")) return "V8 runtime";
  return "other";
}

/** Self cost per group in one profile (`--dump-instr=no`: a cost line is `<line> <Ir>`; a call's line is inclusive). */
async function groupCosts(file: string): Promise<{ label: string; costs: Record<Group, number> }> {
  const costs = Object.fromEntries(GROUPS.map((group) => [group, 0])) as Record<Group, number>;
  const names = new Map<string, string>();
  let label = "";
  let group: Group = "other";
  let afterCalls = false;
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    if (line.startsWith("fn=")) {
      group = groupOf(nameOf(names, line.slice(3)));
    } else if (line.startsWith("cfn=")) {
      nameOf(names, line.slice(4)); // defines the compressed name for later lines
    } else if (line.startsWith("calls=")) {
      afterCalls = true;
    } else if (/^[\d+*-]/.test(line)) {
      if (afterCalls) afterCalls = false;
      else costs[group] += Number(line.split(" ")[1] ?? 0);
    } else if (line.startsWith("desc: Trigger: dump ")) {
      label = line.slice("desc: Trigger: dump ".length);
    }
  }
  return { label, costs };
}

/** callgrind compresses a repeated name to `(id)` after its first `(id) name`. */
function nameOf(names: Map<string, string>, field: string): string {
  const match = /^\((\d+)\)(?: (.*))?$/.exec(field);
  if (!match) return field;
  const [, id, name] = match as unknown as [string, string, string | undefined];
  if (name !== undefined) names.set(id, name);
  return names.get(id) ?? field;
}

/** The file in a kept directory that says how many requests each block sent. */
const RUN_FILE = "run.json";

export async function writeRunInfo(dir: string, block: number): Promise<void> {
  await writeFile(join(dir, RUN_FILE), JSON.stringify({ block }));
}

/** The table: k instructions per request by group, the median over a variant's blocks, per route and query. */
export async function groupTable(dir: string): Promise<string> {
  const { block } = JSON.parse(await readFile(join(dir, RUN_FILE), "utf8")) as { block: number };
  const files = (await readdir(dir)).filter((name) => /^callgrind\.\d+\.\d+$/.test(name));
  // label: <route>-<query>-<variant>-<round>; routes and variants contain dashes, queries do not.
  const blocks = new Map<string, Map<string, Record<Group, number>[]>>();
  for (const name of files) {
    const { label, costs } = await groupCosts(join(dir, name));
    const match = /^(.+)-(plain|param)-(.+)-\d+$/.exec(label);
    if (!match) continue;
    const [, route, query, variant] = match as unknown as [string, string, string, string];
    const key = `${route} | ${query}`;
    const variants = blocks.get(key) ?? new Map<string, Record<Group, number>[]>();
    blocks.set(key, variants);
    const rounds = variants.get(variant) ?? [];
    variants.set(variant, rounds);
    rounds.push(costs);
  }
  const order = (variant: string) => (VARIANTS as readonly string[]).indexOf(variant) >>> 0; // unknown ones last
  const rows = [
    `| route | query | variant | ${GROUPS.join(" | ")} | total |`,
    `|${" --- |".repeat(GROUPS.length + 4)}`,
  ];
  for (const [key, variants] of [...blocks].sort(([a], [b]) => a.localeCompare(b))) {
    for (const [variant, costs] of [...variants].sort(([a], [b]) => order(a) - order(b))) {
      const perGroup = GROUPS.map((group) => summarize(costs.map((cost) => cost[group])).p50 / block / 1000);
      const total = perGroup.reduce((sum, value) => sum + value, 0);
      rows.push(
        `| ${key} | ${variant} | ${perGroup.map((value) => value.toFixed(0)).join(" | ")} | ${total.toFixed(0)} |`,
      );
    }
  }
  return `k instructions per request by where the code lives (self cost; median over each variant's blocks):\n\n${rows.join("\n")}`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const dir = process.argv[2];
  if (!dir) throw new Error("Usage: node src/callgrind-groups.ts <directory kept by HDK_INSTR_KEEP>");
  console.log(await groupTable(dir));
}
