/**
 * Which files are the Worker's source, and their lint. The Worker is what `main` imports, followed through relative
 * imports, tsconfig `paths` and the workspace packages it uses; a `main` that is a build output is followed back to
 * the source the project names (its build script, its framework's source folder, its tsconfig), and what cannot be
 * followed is said, never passed as checked.
 */
import { existsSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { dirname, extname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { type Finding, pass, problem } from "./findings.ts";
import {
  type AstNode,
  directDriver,
  driverOfModule,
  type ExportedMakers,
  importsOf,
  isDatabaseModule,
  lintAst,
  parseSource,
  readsHyperdrive,
} from "./source.ts";
import {
  dependencies,
  FRAMEWORKS,
  findWorkspace,
  isDirectory,
  type PackageJson,
  readPackageJson,
  readTsconfig,
  type TsPaths,
  type Workspace,
} from "./workspace.ts";

const EXTENSIONS = [".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs"];
/** Component files a framework compiles: imported, but not read here. */
const UNREAD = new Set([".svelte", ".vue", ".astro", ".mdx"]);
/** Folders that hold build outputs, not source. */
const BUILD_DIRS = new Set([
  "dist",
  "build",
  "out",
  ".svelte-kit",
  ".open-next",
  ".output",
  ".vercel",
  ".netlify",
  ".next",
  ".wrangler",
  ".mastra",
]);
const SKIP_DIRS = new Set([
  "node_modules",
  ...BUILD_DIRS,
  ".git",
  "coverage",
  "test",
  "tests",
  "__tests__",
  "e2e",
  "scripts",
]);
const MAX_FILES = 5_000;
const MAX_BYTES = 1_000_000;

const isTest = (name: string) => /\.(test|spec)\.[cm]?[jt]sx?$/.test(name) || /\.d\.[cm]?ts$/.test(name);

async function collect(dir: string, out: string[]): Promise<void> {
  let entries: import("node:fs").Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    if (out.length >= MAX_FILES) return;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name) && !entry.name.startsWith(".")) await collect(path, out);
    } else if (entry.isFile() && EXTENSIONS.includes(extname(entry.name)) && !isTest(entry.name)) {
      out.push(path);
    }
  }
}

function fileAt(path: string): boolean {
  return existsSync(path) && !isDirectory(path);
}

/** A module path as TypeScript and bundlers resolve it: extensions, `.js` written for `.ts`, index files. */
function resolveFile(base: string): string | undefined {
  if (fileAt(base) && (EXTENSIONS.includes(extname(base)) || UNREAD.has(extname(base)))) return base;
  const swapped = base.replace(/\.(m|c)?js(x?)$/, ".$1ts$2");
  if (swapped !== base && fileAt(swapped)) return swapped;
  for (const ext of EXTENSIONS) if (fileAt(`${base}${ext}`)) return `${base}${ext}`;
  for (const ext of EXTENSIONS) if (fileAt(join(base, `index${ext}`))) return join(base, `index${ext}`);
  return undefined;
}

function inBuildOutput(projectDir: string, file: string): boolean {
  const first = relative(projectDir, file).split(sep)[0] ?? "";
  return BUILD_DIRS.has(first);
}

/** A workspace package's source for a subpath: its `source` export, else its src/, else what it exports. */
function packageEntry(dir: string, manifest: PackageJson, subpath: string): string | undefined {
  const key = subpath ? `./${subpath}` : ".";
  const exported = (manifest.exports && typeof manifest.exports === "object" ? manifest.exports : {}) as Record<
    string,
    unknown
  >;
  const target = key === "." && typeof manifest.exports === "string" ? manifest.exports : exported[key];
  const candidates: string[] = [];
  const conditions = (value: unknown): void => {
    if (typeof value === "string") candidates.push(value);
    else if (value && typeof value === "object") {
      const record = value as Record<string, unknown>;
      for (const condition of ["source", "workerd", "worker", "import", "module", "default", "require", "node"]) {
        if (condition in record) conditions(record[condition]);
      }
    }
  };
  conditions(target);
  if (key === ".")
    candidates.push(...[manifest.source, manifest.module, manifest.main].filter((v): v is string => !!v));
  // A built entry (dist/index.js) has its source beside it in src/ in nearly every workspace package.
  const fromSource = resolveFile(join(dir, "src", subpath || "index"));
  for (const candidate of candidates) {
    const file = resolveFile(join(dir, candidate));
    if (file && !inBuildOutput(dir, file) && !/\.d\.[cm]?ts$/.test(file)) return file;
  }
  return fromSource ?? resolveFile(join(dir, subpath || "index"));
}

interface Resolver {
  resolve(from: string, specifier: string): string | undefined;
  /** Workspace package directories reached, by name. */
  reached: Map<string, string>;
}

function resolver(workspace: Workspace, tsconfig: TsPaths | undefined): Resolver {
  const reached = new Map<string, string>();
  return {
    reached,
    resolve(from, specifier) {
      if (specifier.startsWith("node:") || specifier.startsWith("cloudflare:")) return undefined;
      if (specifier.startsWith(".") || isAbsolute(specifier)) return resolveFile(resolve(dirname(from), specifier));
      for (const [prefix, suffix, targets] of tsconfig?.paths ?? []) {
        const exact = suffix === "\0";
        if (exact ? specifier !== prefix : !(specifier.startsWith(prefix) && specifier.endsWith(suffix))) continue;
        const middle = exact ? "" : specifier.slice(prefix.length, specifier.length - suffix.length);
        for (const target of targets) {
          const file = resolveFile(resolve(tsconfig?.base ?? ".", target.replace("*", middle)));
          if (file) return file;
        }
      }
      const parts = specifier.split("/");
      const name = specifier.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] ?? "");
      const dir = workspace.packages.get(name);
      if (!dir) return undefined;
      const manifest = readPackageJson(dir) ?? {};
      const file = packageEntry(dir, manifest, specifier.slice(name.length + 1));
      if (file) reached.set(name, dir);
      return file;
    },
  };
}

export interface SourceLintResult {
  findings: Finding[];
  /** Workspace packages the Worker imports: their drivers are the Worker's too. */
  packageDirs: string[];
  /** Whether the source uses a database module. */
  usesDatabase: boolean;
  /** Whether the source reads a Hyperdrive binding (`env.X.connectionString`) or uses hyperdrive-kit. */
  readsHyperdrive: boolean;
  /** Whether the whole source was found and parsed. */
  read: boolean;
  /** The drivers the source imports by their own name (`import pg from "pg"`), which its package.json should declare. */
  imported: Set<string>;
  /** The drivers the source uses, directly or under an ORM; undefined when any may be (or the source was not read). */
  drivers?: Set<string>;
}

interface Entries {
  files: string[];
  /** What was followed, for the pass line: `src/index.ts`, `SvelteKit's src/ (main … is its build output)`. */
  described: string[];
  notFound: Finding[];
}

/** Where the project says its source is when `main` is a build output: its build script, framework or tsconfig. */
async function sourceOfBuild(projectDir: string, manifest: PackageJson | undefined, tsconfig: TsPaths | undefined) {
  const scripts = Object.values(manifest?.scripts ?? {}).join(" ");
  const fromScripts = [...scripts.matchAll(/(?:^|[\s="'])(\.?\.?\/?[\w@./-]+\.(?:[cm]?[jt]sx?))(?=$|[\s"'])/g)]
    .map((match) => resolve(projectDir, match[1] as string))
    .filter((file) => fileAt(file) && !inBuildOutput(projectDir, file) && !isTest(file));
  if (fromScripts.length > 0) {
    return {
      files: [...new Set(fromScripts)],
      how: `the build script's ${fromScripts.map((f) => relative(projectDir, f)).join(", ")}`,
    };
  }
  const deps = dependencies(manifest);
  const framework = FRAMEWORKS.find((candidate) => candidate.dependency in deps);
  if (framework) {
    const folders = framework.folders.filter((folder) => isDirectory(join(projectDir, folder)));
    if (folders.length > 0) {
      const files: string[] = [];
      for (const folder of folders) await collect(join(projectDir, folder), files);
      return {
        files,
        how: `${framework.name}'s source folder${folders.length > 1 ? "s" : ""} ${folders.map((f) => `${f}/`).join(", ")}`,
      };
    }
  }
  if (/\btsc\b/.test(scripts) && tsconfig) {
    const roots = tsconfig.rootDir
      ? [tsconfig.rootDir]
      : tsconfig.include.map((glob) => resolve(projectDir, glob.split("*")[0] ?? ".")).filter(isDirectory);
    if (roots.length > 0) {
      const files: string[] = [];
      for (const root of roots) await collect(root, files);
      return { files, how: `tsconfig.json's ${roots.map((r) => `${relative(projectDir, r) || "."}/`).join(", ")}` };
    }
  }
  return undefined;
}

async function entries(
  projectDir: string,
  configFile: string,
  mains: readonly string[],
  manifest: PackageJson | undefined,
  tsconfig: TsPaths | undefined,
  report: boolean,
): Promise<Entries> {
  const result: Entries = { files: [], described: [], notFound: [] };
  // Only said for a Worker that uses a database: the others have nothing here for the doctor to check.
  const unreadable = (title: string) =>
    report &&
    result.notFound.push(
      problem("warn", "source.entry", "HDK_DOCTOR_SOURCE_NOT_FOUND", title, { location: { file: configFile } }),
    );
  for (const main of mains) {
    const path = resolve(projectDir, main);
    const file = resolveFile(path);
    if (file && !inBuildOutput(projectDir, file)) {
      result.files.push(file);
      result.described.push(relative(projectDir, file));
      continue;
    }
    const built = await sourceOfBuild(projectDir, manifest, tsconfig);
    if (built) {
      result.files.push(...built.files);
      result.described.push(`${built.how} (main ${main} is a build output)`);
      continue;
    }
    const what = file
      ? `main "${main}" is a build output and the project does not say where its source is (no build script entry, framework or tsconfig rootDir)`
      : /^\.{0,2}\//.test(main) || !/^@?[\w.-]+\/[\w.-]/.test(main) || existsSync(dirname(path))
        ? `main "${main}" does not exist`
        : `main "${main}" is a package name, not a file in the project`;
    unreadable(`${what}: the Worker's source was not checked`);
  }
  return result;
}

/**
 * Lints the Worker's source: what each `main` imports (or, for a `main` that is a build output, the source the project
 * names). `configFile` is where findings about `main` point. With no `main` at all, `src/` is read when it exists.
 */
export async function lintSources(
  projectDir: string,
  configFile: string,
  mainEntries: readonly string[],
  options: { usesDatabase?: boolean } = {},
): Promise<SourceLintResult> {
  const manifest = readPackageJson(projectDir);
  const tsconfig = readTsconfig(projectDir);
  const workspace = findWorkspace(projectDir);
  const mains = [...new Set(mainEntries)];
  let start: Entries;
  if (mains.length > 0) {
    start = await entries(projectDir, configFile, mains, manifest, tsconfig, options.usesDatabase ?? true);
  } else {
    // No `main`: Pages Functions in functions/, a framework's source, or src/.
    const folder = ["functions", "src"].find((name) => isDirectory(join(projectDir, name)));
    const built = await sourceOfBuild(projectDir, manifest, tsconfig);
    const files: string[] = [];
    if (built) files.push(...built.files);
    else if (folder) await collect(join(projectDir, folder), files);
    start = { files, described: built ? [built.how] : folder ? [`${folder}/ (no main)`] : [], notFound: [] };
  }

  const paths = resolver(workspace, tsconfig);
  const parsed = new Map<string, AstNode>();
  const edges = new Map<string, Map<string, string>>();
  const findings: Finding[] = [...start.notFound];
  const unread = new Set<string>();
  let usesDatabase = false;
  let hyperdrive = false;
  const drivers = new Set<string>();
  const imported = new Set<string>();
  let anyDriver = false;
  const queue = [...new Set(start.files)];
  for (let index = 0; index < queue.length && parsed.size < MAX_FILES; index++) {
    const file = queue[index] as string;
    if (UNREAD.has(extname(file))) {
      unread.add(extname(file));
      continue;
    }
    if ((await stat(file)).size > MAX_BYTES) continue;
    const shown = relative(projectDir, file);
    const result = parseSource(shown, await readFile(file, "utf8"));
    if ("error" in result) {
      findings.push(result.error);
      continue;
    }
    parsed.set(file, result.ast);
    hyperdrive ||= readsHyperdrive(result.ast);
    const resolved = new Map<string, string>();
    for (const specifier of importsOf(result.ast)) {
      if (isDatabaseModule(specifier)) usesDatabase = true;
      const direct = directDriver(specifier);
      if (direct) imported.add(direct);
      const driver = driverOfModule(specifier);
      if (driver === "any") anyDriver = true;
      else if (driver) drivers.add(driver);
      const target = paths.resolve(file, specifier);
      if (!target || target.split(sep).includes("node_modules")) continue;
      resolved.set(specifier, target);
      if (!queue.includes(target)) queue.push(target);
    }
    edges.set(file, resolved);
  }

  // Two passes: each file's helpers that make a client, then every file with the helpers it imports.
  const makers = new Map<string, ExportedMakers>();
  for (const [file, ast] of parsed) makers.set(file, lintAst(relative(projectDir, file), ast).makers);
  for (const [file, ast] of parsed) {
    const imports = edges.get(file);
    const result = lintAst(relative(projectDir, file), ast, {
      makersOf: (specifier) => {
        const target = imports?.get(specifier);
        return target ? makers.get(target) : undefined;
      },
    });
    findings.push(...result.findings);
    usesDatabase ||= result.usesDatabase;
  }

  const count = parsed.size;
  const inPackages = [...paths.reached.keys()];
  if (count > 0 && !findings.some((finding) => finding.check !== "source.entry")) {
    const from = start.described.join("; ");
    const packages =
      inPackages.length > 0
        ? `, with workspace package${inPackages.length > 1 ? "s" : ""} ${inPackages.join(", ")}`
        : "";
    const skipped = unread.size > 0 ? ` (${[...unread].join(", ")} files not read)` : "";
    findings.push(
      pass(
        "source",
        `${count} source file${count === 1 ? "" : "s"} from ${from}${packages}${skipped}: no client made at module scope or kept across requests, no \`prepare: false\`, eval, \`execute()\`, \`ssl\` or \`max\` above 6`,
      ),
    );
  }
  const read = parsed.size > 0 && start.notFound.length === 0 && !findings.some((f) => f.check === "source.parse");
  return {
    findings,
    packageDirs: [...paths.reached.values()],
    usesDatabase,
    readsHyperdrive: hyperdrive,
    imported,
    read,
    ...(read && !anyDriver ? { drivers } : {}),
  };
}
