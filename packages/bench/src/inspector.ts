/**
 * Where a line of wrangler dev's bundle comes from, for the bench's profiles (the inspector client itself is the testing
 * package's, `@hyperdrive-kit/testing/wrangler-dev`).
 */
import { existsSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** Line number → module path, from esbuild's `// path` markers in the bundle. */
export async function moduleMap(dir: string, keep?: string): Promise<(line: number) => string> {
  // The bundle `HDK_BENCH_RUNTIME=miniflare` made with `wrangler deploy --dry-run`, else wrangler dev's.
  let bundle = join(dir, "bundle/index.js");
  if (!existsSync(bundle)) {
    const tmp = join(dir, ".wrangler/tmp");
    const bundles = (await readdir(tmp)).filter((name) => name.startsWith("dev-"));
    if (bundles.length !== 1) throw new Error(`expected one wrangler dev bundle in ${tmp}, found ${bundles.length}`);
    bundle = join(tmp, bundles[0] as string, "index.js");
  }
  const text = await readFile(bundle, "utf8");
  if (keep) await writeFile(`${keep}.bundle.js`, text);
  const marks: Array<[number, string]> = [];
  text.split("\n").forEach((line, i) => {
    const match = /^\/\/ ((?:\.\.?\/|node_modules|[\w@-]+\/).*\.(?:[cm]?js|ts))$/.exec(line);
    if (match?.[1]) marks.push([i, match[1]]);
  });
  return (line) => {
    let found = "(bundle)";
    for (const [start, path] of marks) {
      if (start > line) break;
      found = path;
    }
    return found;
  };
}

export function groupOf(path: string, url: string, functionName: string): string {
  if (functionName === "(garbage collector)") return "garbage collection";
  if (functionName === "(idle)" || functionName === "(program)") return functionName;
  if (!url) return "runtime (native)";
  if (/core\/(dist|src)\//.test(path)) return "hyperdrive-kit core";
  if (/(^|\/)(pg|postgres|mysql2|mysql)\/(dist|src)\//.test(path) && !path.includes("node_modules")) return "adapter";
  if (/unenv|_virtual_unenv|nodejs-compat/.test(path)) return "nodejs_compat polyfills";
  if (/worker\/(raw|kit|index|queries)\.ts/.test(path)) return "bench Worker";
  if (path.includes("node_modules")) return "driver and its modules";
  return "other";
}
