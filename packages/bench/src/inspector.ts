/** The bench's view into workerd's inspector (Chrome DevTools protocol): a client, and where a bundle line comes from. */
import { existsSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** A minimal DevTools protocol client: one WebSocket, requests matched by id. */
export async function inspector(port: number) {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as Array<{
    webSocketDebuggerUrl: string;
  }>;
  const url = targets[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error("workerd's inspector lists no target");
  // wrangler's inspector proxy wants an Origin it allows; Node's WebSocket (undici) takes headers as an extension.
  const socket = new WebSocket(url, { headers: { origin: "http://localhost" } } as unknown as string[]);
  await new Promise((resolve, reject) => {
    socket.addEventListener("open", resolve, { once: true });
    socket.addEventListener("error", reject, { once: true });
  });
  let next = 0;
  const waiting = new Map<number, (result: unknown) => void>();
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown };
    if (message.id !== undefined) waiting.get(message.id)?.(message.result);
  });
  const send = <T>(method: string, params: Record<string, unknown> = {}) =>
    new Promise<T>((resolve) => {
      const id = ++next;
      waiting.set(id, resolve as (result: unknown) => void);
      socket.send(JSON.stringify({ id, method, params }));
    });
  return { send, close: () => socket.close() };
}

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
