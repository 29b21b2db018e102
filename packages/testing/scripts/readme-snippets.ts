/**
 * Type-checks every TypeScript snippet of the READMEs as a new user would meet it: in a project outside the
 * workspace, with the packed tarballs of our packages and exactly what the README's Install section says to install
 * (`pnpm add …` lines) and its tsconfig block (`"types"`), under strict `tsc`. A tsconfig that loads
 * `./worker-configuration.d.ts` gets it from `wrangler types` run there on a configuration with one Hyperdrive binding
 * (so `Env` is wrangler's, not ours), and is checked a second time the README's other way: `@cloudflare/workers-types`
 * in its place and `Env` declared by hand. An integration's README (Hono, Drizzle,
 * Kysely) defers TypeScript's setup to its adapter's, so the adapter's Install section counts for it too. Each
 * adapter's handle must also be typed (not `any`) there. Offline: the drivers and type packages are linked from the
 * pnpm store the workspace uses.
 *
 *   node packages/testing/scripts/readme-snippets.ts [--keep]
 *
 * Exits 1 and prints the compiler's errors, README by README, when a snippet does not compile.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";

const exec = promisify(execFile);
const root = new URL("../../../", import.meta.url).pathname;

/** READMEs whose snippets are checked, and the package each one documents (`undefined`: several). */
const READMES: ReadonlyArray<readonly [path: string, documents: string | undefined]> = [
  ["README.md", undefined],
  ["packages/core/README.md", "@hyperdrive-kit/core"],
  ["packages/pg/README.md", "@hyperdrive-kit/pg"],
  ["packages/postgres/README.md", "@hyperdrive-kit/postgres"],
  ["packages/mysql2/README.md", "@hyperdrive-kit/mysql2"],
  ["packages/mysql/README.md", "@hyperdrive-kit/mysql"],
  ["packages/hono/README.md", "@hyperdrive-kit/hono"],
  ["packages/drizzle/README.md", "@hyperdrive-kit/drizzle"],
  ["packages/kysely/README.md", "@hyperdrive-kit/kysely"],
];

/** The adapters whose handle the check proves is typed (a missing type package makes it silently `any`). */
const ADAPTERS = ["@hyperdrive-kit/pg", "@hyperdrive-kit/postgres", "@hyperdrive-kit/mysql2", "@hyperdrive-kit/mysql"];

/** Packages whose READMEs defer TypeScript's setup to the adapter's README (no tsconfig block of their own). */
const INTEGRATIONS = ["@hyperdrive-kit/hono", "@hyperdrive-kit/drizzle", "@hyperdrive-kit/kysely"];

/**
 * The `Env` a user declares with `@cloudflare/workers-types` (what `wrangler types` writes for one Hyperdrive
 * binding), for a README whose package has no `test/readme/env.d.ts` saying what its snippets assume.
 */
const ENV_DTS = "interface Env {\n  HYPERDRIVE: Hyperdrive;\n}\n";

/** What `wrangler types` writes, as a README's tsconfig names it in `types`. */
const WORKER_CONFIGURATION = "./worker-configuration.d.ts";
/** The types package the READMEs give as the other way to `wrangler types`. */
const WORKERS_TYPES = "@cloudflare/workers-types";

const HANDLE_IS_TYPED = (adapter: string) => `import { withHyperdrive } from "${adapter}";

// An \`any\` handle (its driver's type package missing) takes any property: then the directive below is unused, which
// tsc reports. (A conditional \`IsAny\` test cannot tell: an unresolved import is an error type, not \`any\`.)
export default {
  fetch: (_request, env, ctx) =>
    withHyperdrive(env, ctx, async (db) => {
      // @ts-expect-error: a typed handle has no such member
      db.noSuchMember;
      return new Response("typed");
    }),
} satisfies ExportedHandler<Env>;
`;

interface Block {
  lang: string;
  code: string;
}

function blocks(markdown: string): Block[] {
  return [...markdown.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1] ?? "", code: m[2] ?? "" }));
}

interface InstallSpec {
  /** Packages the Install section's `pnpm add` lines name. */
  packages: string[];
  /** The tsconfig block's compilerOptions (none for an integration, whose README defers to the adapter's). */
  compilerOptions: Record<string, unknown>;
}

const packageDirs = new Map<string, string>();
for (const dir of await readdir(join(root, "packages"))) {
  const manifest = join(root, "packages", dir, "package.json");
  if (existsSync(manifest)) packageDirs.set(JSON.parse(readFileSync(manifest, "utf8")).name as string, dir);
}

const installSpecs = new Map<string, InstallSpec>();

/** What a package's README says to install and how to configure TypeScript (each README read once). */
function installSpec(name: string): InstallSpec {
  let spec = installSpecs.get(name);
  if (spec === undefined) {
    spec = readInstallSpec(name);
    installSpecs.set(name, spec);
  }
  return spec;
}

function readInstallSpec(name: string): InstallSpec {
  const dir = packageDirs.get(name);
  if (dir === undefined) throw new Error(`no workspace package ${name}`);
  const readme = readFileSync(join(root, "packages", dir, "README.md"), "utf8");
  const install = readme.slice(readme.indexOf("## Install"), readme.indexOf("\n## ", readme.indexOf("## Install") + 1));
  const packages = blocks(install)
    .filter((b) => b.lang === "sh")
    .flatMap((b) => b.code.split("\n"))
    .filter((line) => line.startsWith("pnpm add "))
    .flatMap((line) => line.split(/\s+/).slice(2))
    .filter((word) => word !== "" && !word.startsWith("-"))
    // `postgres@3` names the package `postgres`; a scope's `@` is not a version.
    .map((word) => word.replace(/(?<=.)@[^/]*$/, ""));
  const tsconfig = blocks(install).find((b) => b.lang === "json" && b.code.includes("compilerOptions"));
  if (packages.length === 0 || (tsconfig === undefined && !INTEGRATIONS.includes(name))) {
    throw new Error(`${dir}/README.md: its Install section needs a \`pnpm add …\` line and a tsconfig.json block`);
  }
  return { packages, compilerOptions: tsconfig ? JSON.parse(tsconfig.code).compilerOptions : {} };
}

/**
 * Where the workspace has `name` installed: its real directory in the pnpm store layout, whose own dependencies sit
 * beside it, so a link to it resolves like an installed package, offline.
 */
function installed(name: string): string {
  for (const base of [root, ...[...packageDirs.values()].map((dir) => join(root, "packages", dir))]) {
    const path = join(base, "node_modules", name);
    if (existsSync(join(path, "package.json"))) return realpathSync(path);
  }
  throw new Error(`${name} is not installed anywhere in the workspace`);
}

/**
 * Our packages a snippet imports, and the adapter an integration's subpath stands for (`@hyperdrive-kit/drizzle/pg`
 * needs `@hyperdrive-kit/pg`, which its README's "or" line names).
 */
const imported = (code: string) =>
  [...code.matchAll(/from "(@hyperdrive-kit\/[a-z0-9-]+)(?:\/([a-z0-9-]+))?"/g)].flatMap((m) => {
    const adapter = `@hyperdrive-kit/${m[2]}`;
    return m[2] !== undefined && ADAPTERS.includes(adapter) ? [m[1] as string, adapter] : [m[1] as string];
  });

/** Files a snippet imports from beside it (`./schema`), by name without extension. */
const localImports = (code: string) => [...code.matchAll(/from "\.\/([\w-]+)"/g)].map((m) => m[1] as string);

async function packAll(out: string): Promise<Map<string, string>> {
  const names = ["@hyperdrive-kit/core", ...ADAPTERS, ...INTEGRATIONS];
  await exec("pnpm", ["turbo", "run", "build", ...names.map((n) => `--filter=${n}`)], {
    cwd: root,
    timeout: 300_000,
  });
  const tarballs = new Map<string, string>();
  for (const name of names) {
    const destination = join(out, "tarballs", name.replace("@hyperdrive-kit/", ""));
    await exec("pnpm", ["pack", "--pack-destination", destination], {
      cwd: join(root, "packages", packageDirs.get(name) as string),
      timeout: 60_000,
    });
    const [file] = await readdir(destination);
    tarballs.set(name, join(destination, file as string));
  }
  return tarballs;
}

interface Outcome {
  readme: string;
  snippets: number;
  errors: string;
}

async function checkReadme(
  out: string,
  tarballs: Map<string, string>,
  readme: string,
  documents: string | undefined,
): Promise<Outcome> {
  const snippets = blocks(readFileSync(join(root, readme), "utf8"))
    .filter((b) => b.lang === "ts")
    .map((b) => b.code);
  // The documented package, ours that the snippets import, and ours its Install line adds (an integration's adapter).
  const named = documents ? installSpec(documents).packages.filter((name) => name.startsWith("@hyperdrive-kit/")) : [];
  const uses = new Set([...(documents ? [documents] : []), ...named, ...snippets.flatMap(imported)]);
  const used = [...uses].map(installSpec);
  if (!used.some((spec) => "module" in spec.compilerOptions)) {
    throw new Error(`${readme}: no snippet imports an adapter, whose README says how to set up TypeScript`);
  }
  const packages = new Set(used.flatMap((spec) => spec.packages));
  const types = new Set(used.flatMap((spec) => (spec.compilerOptions.types as string[] | undefined) ?? []));
  const project = join(out, readme.replaceAll("/", "_").replace(/\.md$/, ""));
  await mkdir(project, { recursive: true });
  // node_modules as an install of the README's packages leaves it: our tarballs unpacked (core, which the adapters
  // depend on, too), everything else linked from the store. Nothing else is there to resolve by accident.
  const modules = join(project, "node_modules");
  for (const name of new Set([...packages, "@hyperdrive-kit/core"])) {
    const target = join(modules, name);
    await mkdir(dirname(target), { recursive: true });
    const tarball = tarballs.get(name);
    if (tarball === undefined) await symlink(installed(name), target, "dir");
    else {
      await mkdir(target);
      await exec("tar", ["-xzf", tarball, "-C", target, "--strip-components=1"]);
    }
  }
  await writeFile(
    join(project, "package.json"),
    JSON.stringify({ name: "readme-snippets", private: true, type: "module" }),
  );
  for (const [i, code] of snippets.entries()) await writeFile(join(project, `snippet-${i + 1}.ts`), code);
  // A snippet's own files (`./schema`): the user has them; the package's type-checked snippet folder provides them.
  for (const local of new Set(snippets.flatMap(localImports))) {
    const source = join(root, dirname(readme), "test", "readme", `${local}.ts`);
    if (!existsSync(source)) throw new Error(`${readme} imports ./${local}: ${source} must provide it`);
    await writeFile(join(project, `${local}.ts`), readFileSync(source, "utf8"));
  }
  if (documents && ADAPTERS.includes(documents)) {
    await writeFile(join(project, "handle-is-typed.ts"), HANDLE_IS_TYPED(documents));
  }
  // What the package's own snippet folder declares its snippets assume (the Hono README's `.dev.vars` entry), if it does.
  const ownEnv = join(root, dirname(readme), "test", "readme", "env.d.ts");
  const handDeclared = existsSync(ownEnv) ? readFileSync(ownEnv, "utf8") : ENV_DTS;
  const compilerOptions = Object.assign({}, ...used.map((s) => s.compilerOptions));
  const failures: string[] = [];
  if (types.has(WORKER_CONFIGURATION)) {
    // As the README says: `wrangler types` writes the runtime's types and `Env`; only the package's own extras are added.
    await wranglerTypes(project);
    if (existsSync(ownEnv)) await writeFile(join(project, "env.d.ts"), handDeclared);
    failures.push(await compile(project, compilerOptions, [...types], "with `wrangler types`"));
    // The README's other way: the published types package in its place, and `Env` declared by hand.
    await rm(join(project, "worker-configuration.d.ts"));
    await mkdir(join(modules, "@cloudflare"), { recursive: true });
    await symlink(installed(WORKERS_TYPES), join(modules, WORKERS_TYPES), "dir");
    const swapped = [...types].map((t) => (t === WORKER_CONFIGURATION ? WORKERS_TYPES : t));
    await writeFile(join(project, "env.d.ts"), handDeclared);
    failures.push(await compile(project, compilerOptions, swapped, `with ${WORKERS_TYPES}`));
  } else {
    await writeFile(join(project, "env.d.ts"), handDeclared);
    failures.push(await compile(project, compilerOptions, [...types], ""));
  }
  return { readme, snippets: snippets.length, errors: failures.filter(Boolean).join("\n") };
}

/**
 * `wrangler types` in the project, as the README's Install section runs it, for a Wrangler configuration with one
 * Hyperdrive binding at the newest compatibility date the installed workerd supports (its version is `1.YYYYMMDD.n`).
 */
async function wranglerTypes(project: string): Promise<void> {
  const wrangler = join(project, "node_modules", "wrangler");
  const workerd = JSON.parse(readFileSync(join(realpathSync(wrangler), "..", "workerd", "package.json"), "utf8"));
  const [, runtime = ""] = (workerd.version as string).split(".");
  const config = {
    name: "readme-snippets",
    main: "snippet-1.ts",
    compatibility_date: `${runtime.slice(0, 4)}-${runtime.slice(4, 6)}-${runtime.slice(6, 8)}`,
    hyperdrive: [
      {
        binding: "HYPERDRIVE",
        id: "0".repeat(32),
        localConnectionString: "postgres://user:password@127.0.0.1:5432/db",
      },
    ],
  };
  await writeFile(join(project, "wrangler.json"), JSON.stringify(config));
  await exec(process.execPath, [join(wrangler, "bin", "wrangler.js"), "types"], {
    cwd: project,
    timeout: 120_000,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
}

/** `tsc` on the project with these compiler options and `types`; the compiler's errors, or "" when it compiles. */
async function compile(
  project: string,
  compilerOptions: Record<string, unknown>,
  types: string[],
  way: string,
): Promise<string> {
  await writeFile(
    join(project, "tsconfig.json"),
    JSON.stringify({ compilerOptions: { ...compilerOptions, types, noEmit: true }, include: ["*.ts"] }),
  );
  try {
    const tsc = join(installed("typescript"), "bin", "tsc");
    await exec(process.execPath, [tsc, "-p", "."], { cwd: project, timeout: 120_000 });
    return "";
  } catch (error) {
    const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
    const errors = `${stdout}${stderr}`.trim() || String(error);
    return way ? `${way}:\n${errors}` : errors;
  }
}

/** Checks every README; returns the failures (empty when all compile). */
export async function checkReadmeSnippets(keep = false): Promise<Outcome[]> {
  const out = await mkdtemp(join(tmpdir(), "hdk-snippets-"));
  try {
    const tarballs = await packAll(out);
    const outcomes: Outcome[] = [];
    for (const [readme, documents] of READMES) outcomes.push(await checkReadme(out, tarballs, readme, documents));
    return outcomes;
  } finally {
    if (keep) console.log(`kept ${out}`);
    else await rm(out, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const outcomes = await checkReadmeSnippets(process.argv.includes("--keep"));
  for (const { readme, snippets, errors } of outcomes) {
    console.log(`${errors ? "FAIL" : "ok  "} ${readme} (${snippets} snippets)`);
    if (errors) console.log(errors.replace(/^/gm, "     "));
  }
  if (outcomes.some((o) => o.errors)) process.exit(1);
}
