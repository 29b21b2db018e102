/**
 * `pnpm test:latest`: what a new user gets from npm today. Packs the public packages, makes a fresh Worker project
 * outside the workspace, installs the tarballs and the newest published version of every peer each package admits
 * (with npm, as users do, on this Node 22), and runs `latest/worker.ts` there in `wrangler dev` against a real
 * PostgreSQL and a real MariaDB: every adapter and integration, typed errors through the ORMs, no connection left
 * open, no `COM_STMT_PREPARE`. It reports what it installed and whether a peer has a newer version than its range
 * admits (exit 2: the next major exists and is untested).
 *
 *   pnpm test:latest            the newest version inside each peer range
 *   pnpm test:latest --beyond   the newest published version even outside the range (tries the next major)
 *   pnpm test:latest --oldest   the oldest version inside each range (the lower bounds the ranges promise)
 *   pnpm test:latest --keep     keeps the project directory for a look afterwards
 */
import { execFile, spawn } from "node:child_process";
import { cp, mkdir, mkdtemp, readdir, readFile, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { freePort, type RunningServer, refusedPort, startMariadb, startPostgres } from "../src/servers/index.ts";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../../", import.meta.url));
const latestDir = fileURLToPath(new URL("../latest/", import.meta.url));
/** The packages the Worker imports (the CLIs, doctor and simulator, are not Worker code). */
const PACKAGES = ["core", "pg", "postgres", "mysql2", "mysql", "hono", "drizzle", "kysely", "prisma"];
const beyond = process.argv.includes("--beyond");
const oldest = process.argv.includes("--oldest");
const keep = process.argv.includes("--keep");

interface Manifest {
  name: string;
  version: string;
  peerDependencies?: Record<string, string>;
}

interface Peer {
  name: string;
  range: string;
  installed: string;
  newest: string;
  /** The newest published version when the range does not admit it. */
  outside?: string;
}

const npmCli = await realpath((await run("sh", ["-c", "command -v npm"])).stdout.trim());
/** npm run by this Node (22): npm on Node 20 resolves a wrangler too old for today's workerd. */
async function npm(args: string[], cwd: string): Promise<string> {
  const { stdout } = await run(process.execPath, [npmCli, ...args], { cwd, maxBuffer: 64 << 20, timeout: 900_000 });
  return stdout;
}

async function npmJson<T>(args: string[]): Promise<T> {
  return JSON.parse((await npm(["view", ...args, "--json"], root)) || "null") as T;
}

const parts = (version: string) => version.split(/[.+-]/).slice(0, 3).map(Number);
function newer(a: string, b: string): boolean {
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) > (y[i] ?? 0);
  return false;
}

/** The newest release (no prerelease) in `range`, and the newest release at all. */
async function resolvePeer(name: string, range: string): Promise<Peer> {
  const inRange = await npmJson<string | string[]>([`${name}@${range}`, "version"]);
  const admitted = (Array.isArray(inRange) ? inRange : [inRange]).filter((v) => !v.includes("-"));
  const all = (await npmJson<string[]>([name, "versions"])).filter((v) => !v.includes("-"));
  const best = (list: string[]) => list.reduce((a, b) => (newer(b, a) ? b : a));
  const newest = best(all);
  const inside = best(admitted);
  const outside = newer(newest, inside) ? newest : undefined;
  const lowest = admitted.reduce((a, b) => (newer(a, b) ? b : a));
  return { name, range, newest, outside, installed: oldest ? lowest : beyond && outside ? newest : inside };
}

async function packAll(into: string): Promise<{ tarballs: string[]; manifests: Manifest[] }> {
  await run("pnpm", ["turbo", "run", "build", ...PACKAGES.map((p) => `--filter=@hyperdrive-kit/${p}`)], {
    cwd: root,
    maxBuffer: 64 << 20,
  });
  const tarballs: string[] = [];
  const manifests: Manifest[] = [];
  for (const dir of PACKAGES) {
    const destination = join(into, dir);
    await run("pnpm", ["pack", "--pack-destination", destination], { cwd: join(root, "packages", dir) });
    const [file] = await readdir(destination);
    if (!file) throw new Error(`pnpm pack wrote no tarball for packages/${dir}`);
    tarballs.push(join(destination, file));
    const { stdout } = await run("tar", ["-xOzf", join(destination, file), "package/package.json"]);
    manifests.push(JSON.parse(stdout) as Manifest);
  }
  return { tarballs, manifests };
}

/** Every third-party peer and the range the packages admit (the same range wherever two packages name one). */
function peerRanges(manifests: Manifest[]): Map<string, string> {
  const ranges = new Map<string, string>();
  for (const { name, peerDependencies = {} } of manifests) {
    for (const [peer, range] of Object.entries(peerDependencies)) {
      if (peer.startsWith("@hyperdrive-kit/") || peer.startsWith("@types/")) continue;
      const known = ranges.get(peer);
      if (known !== undefined && known !== range) throw new Error(`${name} admits ${peer}@${range}, another ${known}`);
      ranges.set(peer, range);
    }
  }
  return ranges;
}

const installedVersion = async (project: string, name: string) =>
  (JSON.parse(await readFile(join(project, "node_modules", name, "package.json"), "utf8")) as Manifest).version;

async function makeProject(project: string): Promise<void> {
  await mkdir(project, { recursive: true });
  await writeFile(
    join(project, "package.json"),
    `${JSON.stringify({ name: "latest", private: true, type: "module" })}\n`,
  );
  await cp(join(latestDir, "worker.ts"), join(project, "worker.ts"));
  for (const schema of ["schema-pg.prisma", "schema-mariadb.prisma"])
    await cp(join(latestDir, schema), join(project, schema));
}

/**
 * The Wrangler configuration, at today's date or the newest the installed workerd supports (its version is
 * `1.YYYYMMDD.n`): Node.js compatibility is on by default from 2026-08-04, so there is no `nodejs_compat` flag.
 */
async function writeWranglerConfig(project: string, pgUrl: string, myUrl: string, downPort: number): Promise<string> {
  const today = new Date().toISOString().slice(0, 10);
  const [, runtime = ""] = (await installedVersion(project, "workerd")).split(".");
  const supported = `${runtime.slice(0, 4)}-${runtime.slice(4, 6)}-${runtime.slice(6, 8)}`;
  const compatibilityDate = supported < today ? supported : today;
  const binding = (name: string, id: string, url: string) => ({
    binding: name,
    id: id.repeat(32),
    localConnectionString: url,
  });
  const config = {
    name: "hyperdrive-kit-latest",
    main: "worker.ts",
    compatibility_date: compatibilityDate,
    hyperdrive: [
      binding("PG", "a", pgUrl),
      binding("MY", "b", myUrl),
      binding("DOWN", "c", `postgres://user:password@127.0.0.1:${downPort}/db`),
    ],
  };
  await writeFile(join(project, "wrangler.json"), `${JSON.stringify(config, null, 2)}\n`);
  return compatibilityDate;
}

/** `wrangler dev` on a free port; resolves with its URL once it is ready, and the output it printed. */
async function wranglerDev(project: string) {
  const port = await freePort();
  const bin = join(project, "node_modules", "wrangler", "bin", "wrangler.js");
  const child = spawn(process.execPath, [bin, "dev", "--port", String(port), "--ip", "127.0.0.1"], {
    cwd: project,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1" },
  });
  let output = "";
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`wrangler dev not ready after 180 s:\n${output}`)), 180_000);
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("Ready on")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on("data", read);
    child.stderr.on("data", read);
    child.once("exit", (code) => reject(new Error(`wrangler dev exited (${code}):\n${output}`)));
  });
  await ready;
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGINT");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  };
  return { url: `http://127.0.0.1:${port}`, output: () => output, stop };
}

type Body = Record<string, unknown>;
/** Each route and what it must answer. */
const CHECKS: Array<[path: string, status: number, expected: Body]> = [
  ["/setup", 200, { ok: true }],
  ["/pg/client", 200, { one: 1 }],
  ["/pg/pool", 200, { many: 3 }],
  ["/postgres", 200, { one: 1, x: "x", inTx: 2 }],
  ["/mysql2", 200, { one: 1 }],
  ["/mysql2/pool", 200, { one: 1 }],
  ["/mysql", 200, { one: 1 }],
  ["/drizzle/postgres", 200, { one: 1 }],
  ["/drizzle/mysql2", 200, { counted: true }],
  ["/kysely/pg", 200, { one: 1 }],
  ["/kysely/postgres", 200, { one: 1 }],
  ["/kysely/mysql2", 200, { one: 1 }],
  ["/prisma/pg", 200, { counted: true }],
  ["/prisma/mariadb", 200, { counted: true }],
  ["/migrated/pg", 200, { one: 1 }],
  ["/migrated/postgres", 200, { one: 1 }],
  ["/migrated/mysql2", 200, { one: 1 }],
  ["/migrated/mysql", 200, { one: 1 }],
  ["/hono/pg", 200, { one: 1 }],
  ["/hono/mysql2", 200, { one: 1 }],
  ["/hono/health", 200, { ok: true }],
  ["/hono/unbound/health", 200, { ok: true }],
  ["/hono/unbound/db", 500, { error: { code: "HDK_BINDING_MISSING", category: "usage", retryable: false } }],
  ["/error/refused", 503, { error: "HDK_CONNECT_REFUSED" }],
  ["/error/refused-drizzle", 503, { error: "HDK_CONNECT_REFUSED", wrapper: "DrizzleQueryError" }],
  ["/error/refused-prisma", 200, { code: "HDK_CONNECT_REFUSED", metaCode: "HDK_CONNECT_REFUSED", metaFix: true }],
  ["/hono/prisma-refused", 503, { error: { code: "HDK_CONNECT_REFUSED", retryable: true } }],
  // Each closed once, by its own end(): the scope's teardown found nothing left to fail on.
  [
    "/migrated/events",
    200,
    { pg: ["teardown:closed"], postgres: ["teardown:closed"], mysql2: ["teardown:closed"], mysql: ["teardown:closed"] },
  ],
  ["/error/keep", 200, { kept: true }],
  ["/error/reuse", 503, { error: /^HDK_HANDLE_(AFTER_TEARDOWN|CROSS_REQUEST)$/ }],
];

function matches(actual: unknown, expected: unknown): boolean {
  if (expected instanceof RegExp) return typeof actual === "string" && expected.test(actual);
  if (typeof expected !== "object" || expected === null) return actual === expected;
  if (typeof actual !== "object" || actual === null) return false;
  if (Array.isArray(expected) && (!Array.isArray(actual) || actual.length !== expected.length)) return false;
  return Object.entries(expected).every(([key, value]) => matches((actual as Record<string, unknown>)[key], value));
}

async function get(url: string): Promise<{ status: number; body: Body }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(60_000) });
  const text = await response.text();
  try {
    return { status: response.status, body: JSON.parse(text) as Body };
  } catch {
    return { status: response.status, body: { text } };
  }
}

async function main(): Promise<number> {
  const work = await mkdtemp(join(tmpdir(), "hdk-latest-"));
  const project = join(work, "worker");
  const servers: RunningServer[] = [];
  let wrangler: Awaited<ReturnType<typeof wranglerDev>> | undefined;
  let failures = 0;
  try {
    console.log(`Packing into ${work} …`);
    const { tarballs, manifests } = await packAll(join(work, "tarballs"));
    const peers = await Promise.all([...peerRanges(manifests)].map(([name, range]) => resolvePeer(name, range)));
    const [postgres, mariadb, downPort] = await Promise.all([startPostgres(), startMariadb(), refusedPort()]);
    servers.push(postgres, mariadb);
    await makeProject(project);
    const prismaVersion = peers.find((p) => p.name === "@prisma/client")?.installed ?? "latest";
    const specs = [...peers.map((p) => `${p.name}@${p.installed}`), `prisma@${prismaVersion}`, "wrangler@latest"];
    console.log(`npm install ${specs.join(" ")} + ${tarballs.length} tarballs …`);
    await npm(
      ["install", "--no-audit", "--no-fund", ...(beyond ? ["--legacy-peer-deps"] : []), ...tarballs, ...specs],
      project,
    );
    const prismaCli = join(project, "node_modules", "prisma", "build", "index.js");
    for (const schema of ["schema-pg.prisma", "schema-mariadb.prisma"]) {
      await run(process.execPath, [prismaCli, "generate", "--schema", schema], {
        cwd: project,
        // `prisma generate` looks for a schema engine it never runs; any executable lets it finish offline.
        env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: "/bin/true", CHECKPOINT_DISABLE: "1" },
      });
    }
    const compatibilityDate = await writeWranglerConfig(project, postgres.url, mariadb.url, downPort);
    const tools = {
      wrangler: await installedVersion(project, "wrangler"),
      workerd: await installedVersion(project, "workerd"),
      prisma: await installedVersion(project, "prisma"),
      npm: (await npm(["--version"], project)).trim(),
      node: process.version,
    };
    wrangler = await wranglerDev(project);
    const prepares = async () => Number((await get(`${wrangler?.url}/mysql/prepares`)).body.prepares);
    const preparesBefore = await prepares();
    const results: string[] = [];
    for (const [path, status, expected] of CHECKS) {
      const actual = await get(`${wrangler.url}${path}`);
      const ok = actual.status === status && matches(actual.body, expected);
      if (!ok) failures++;
      results.push(`| \`${path}\` | ${ok ? "ok" : `**FAILED**: ${actual.status} ${JSON.stringify(actual.body)}`} |`);
    }
    // The count is read with query(), the text protocol: it sends no prepare itself.
    const preparesSent = (await prepares()) - preparesBefore;
    if (preparesSent !== 0) failures++;
    let open = { postgres: -1, mysql: -1 };
    for (let i = 0; i < 30; i++) {
      open = (await get(`${wrangler.url}/connections`)).body as typeof open;
      if (open.postgres === 0 && open.mysql === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    if (open.postgres !== 0 || open.mysql !== 0) failures++;
    const uncaught = wrangler
      .output()
      .split("\n")
      .filter((line) => /Uncaught|Unhandled/i.test(line));
    if (uncaught.length > 0) failures++;

    const today = new Date().toISOString().slice(0, 10);
    console.log(`\n## pnpm test:latest, ${today}${beyond ? " --beyond" : ""}${oldest ? " --oldest" : ""}\n`);
    console.log(
      `Node ${tools.node}, npm ${tools.npm}, wrangler ${tools.wrangler}, workerd ${tools.workerd}, prisma ${tools.prisma}; compatibility date ${compatibilityDate}, without \`nodejs_compat\`\n`,
    );
    console.log("| peer | range | installed | newest published | newer than the range admits |");
    console.log("| --- | --- | --- | --- | --- |");
    for (const p of peers)
      console.log(`| ${p.name} | \`${p.range}\` | ${p.installed} | ${p.newest} | ${p.outside ?? "no"} |`);
    console.log("\n| route | result |\n| --- | --- |");
    console.log(results.join("\n"));
    console.log(
      `\nCOM_STMT_PREPARE sent: ${preparesSent}; connections open afterwards: PostgreSQL ${open.postgres}, MySQL ${open.mysql}; uncaught/unhandled lines in wrangler's log: ${uncaught.length}`,
    );
    for (const line of uncaught) console.log(`  ${line}`);
    const outside = peers.filter((p) => p.outside && !beyond && !oldest);
    if (failures > 0) {
      console.log(`\n${failures} check(s) FAILED. wrangler's log:\n${wrangler.output()}`);
      return 1;
    }
    if (outside.length > 0) {
      console.log(
        `\nAll checks passed. Newer than the ranges admit, untested: ${outside.map((p) => `${p.name}@${p.outside}`).join(", ")}`,
      );
      console.log("Try them with `pnpm test:latest --beyond`, fix what breaks, then widen the range.");
      return 2;
    }
    console.log(
      beyond || oldest
        ? "\nAll checks passed."
        : "\nAll checks passed; every peer's newest version is inside its range.",
    );
    return 0;
  } finally {
    await wrangler?.stop();
    await Promise.all(servers.map((server) => server.stop()));
    if (keep || failures > 0) console.log(`Project kept in ${project}`);
    else await rm(work, { recursive: true, force: true });
  }
}

process.exit(await main());
