/** The project around a Worker: its workspace root and packages, its tsconfig paths, its framework. */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parse as parseJsonc } from "jsonc-parser";
import { parse as parseYaml } from "yaml";

export interface PackageJson {
  name?: string;
  main?: string;
  module?: string;
  source?: string;
  exports?: unknown;
  scripts?: Record<string, string>;
  workspaces?: string[] | { packages?: string[] };
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

export function readPackageJson(dir: string): PackageJson | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as PackageJson;
  } catch {
    return undefined;
  }
}

export function dependencies(manifest: PackageJson | undefined): Record<string, string> {
  return {
    ...manifest?.peerDependencies,
    ...manifest?.optionalDependencies,
    ...manifest?.devDependencies,
    ...manifest?.dependencies,
  };
}

/** `dir` and its parents, up to the file system root. */
export function* upwards(dir: string): Generator<string> {
  let current = resolve(dir);
  while (true) {
    yield current;
    const parent = dirname(current);
    if (parent === current) return;
    current = parent;
  }
}

function workspaceGlobs(dir: string): string[] | undefined {
  const pnpm = join(dir, "pnpm-workspace.yaml");
  if (existsSync(pnpm)) {
    try {
      const parsed = parseYaml(readFileSync(pnpm, "utf8")) as { packages?: string[] } | null;
      return parsed?.packages ?? [];
    } catch {
      return [];
    }
  }
  const workspaces = readPackageJson(dir)?.workspaces;
  if (Array.isArray(workspaces)) return workspaces;
  if (workspaces && Array.isArray(workspaces.packages)) return workspaces.packages;
  return undefined;
}

export interface Workspace {
  /** The workspace root (the directory of `pnpm-workspace.yaml` or of the `workspaces` field), else the project. */
  root: string;
  /** Workspace package name → its directory. */
  packages: Map<string, string>;
}

function subdirectories(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && entry.name !== "node_modules" && !entry.name.startsWith("."))
      .map((entry) => join(dir, entry.name));
  } catch {
    return [];
  }
}

/** Expands the workspace globs the package managers use in practice: `dir`, `dir/*`, `dir/**`. */
function expand(root: string, glob: string): string[] {
  if (glob.startsWith("!")) return [];
  const parts = glob.replace(/\/+$/, "").split("/");
  let dirs = [root];
  for (const part of parts) {
    if (part === "**") {
      const all: string[] = [];
      const walk = (dir: string, depth: number) => {
        all.push(dir);
        if (depth < 4) for (const sub of subdirectories(dir)) walk(sub, depth + 1);
      };
      for (const dir of dirs) walk(dir, 0);
      dirs = all;
    } else if (part.includes("*")) {
      const pattern = new RegExp(`^${part.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`);
      dirs = dirs.flatMap((dir) => subdirectories(dir).filter((sub) => pattern.test(sub.slice(dir.length + 1))));
    } else {
      dirs = dirs.map((dir) => join(dir, part));
    }
  }
  return dirs.filter((dir) => existsSync(join(dir, "package.json")));
}

export function findWorkspace(projectDir: string): Workspace {
  for (const dir of upwards(projectDir)) {
    const globs = workspaceGlobs(dir);
    if (globs === undefined) continue;
    const packages = new Map<string, string>();
    for (const glob of globs) {
      for (const pkg of expand(dir, glob)) {
        const name = readPackageJson(pkg)?.name;
        if (name) packages.set(name, pkg);
      }
    }
    return { root: dir, packages };
  }
  return { root: resolve(projectDir), packages: new Map() };
}

export interface TsPaths {
  base: string;
  paths: [prefix: string, suffix: string, targets: string[]][];
  rootDir?: string;
  include: string[];
}

/** The `paths` aliases (`"@/*": ["./src/*"]`), `rootDir` and `include` of the project's tsconfig.json. */
export function readTsconfig(projectDir: string): TsPaths | undefined {
  const file = join(projectDir, "tsconfig.json");
  if (!existsSync(file)) return undefined;
  const config = parseJsonc(readFileSync(file, "utf8"), [], { allowTrailingComma: true }) as
    | { compilerOptions?: { baseUrl?: string; paths?: Record<string, string[]>; rootDir?: string }; include?: string[] }
    | undefined;
  const options = config?.compilerOptions ?? {};
  const base = resolve(projectDir, options.baseUrl ?? ".");
  const paths = Object.entries(options.paths ?? {}).map(([pattern, targets]) => {
    const [prefix = "", suffix = ""] = pattern.split("*");
    return [prefix, pattern.includes("*") ? suffix : "\0", targets] as [string, string, string[]];
  });
  return {
    base,
    paths,
    ...(options.rootDir ? { rootDir: resolve(projectDir, options.rootDir) } : {}),
    include: Array.isArray(config?.include) ? config.include : [],
  };
}

/** Frameworks whose Worker entry is a build output, and the folders their source lives in. */
export const FRAMEWORKS: readonly { dependency: string; name: string; folders: readonly string[] }[] = [
  { dependency: "@sveltejs/kit", name: "SvelteKit", folders: ["src"] },
  { dependency: "astro", name: "Astro", folders: ["src"] },
  { dependency: "@opennextjs/cloudflare", name: "Next.js (OpenNext)", folders: ["src", "app", "pages", "lib"] },
  { dependency: "next", name: "Next.js", folders: ["src", "app", "pages", "lib"] },
  { dependency: "@react-router/dev", name: "React Router", folders: ["app", "workers"] },
  { dependency: "@remix-run/cloudflare", name: "Remix", folders: ["app"] },
  { dependency: "nuxt", name: "Nuxt", folders: ["server"] },
  { dependency: "@solidjs/start", name: "SolidStart", folders: ["src"] },
  { dependency: "@tanstack/react-start", name: "TanStack Start", folders: ["src", "app"] },
  { dependency: "@builder.io/qwik-city", name: "Qwik City", folders: ["src"] },
];

export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
