/** Which database drivers a Worker uses and in which version: installed, locked, or declared, in that order. */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { parse as parseJsonc } from "jsonc-parser";
import semver from "semver";
import { parse as parseYaml } from "yaml";
import { type Finding, pass, problem } from "./findings.ts";
import { upwards } from "./workspace.ts";

/** Hyperdrive's minimums (seed 003 for postgres and mysql2; Cloudflare's driver pages for pg and mysql). */
export const DRIVER_MINIMUMS = { pg: "8.16.3", postgres: "3.4.5", mysql2: "3.13.0", mysql: "2.18.0" } as const;
export type Driver = keyof typeof DRIVER_MINIMUMS;

/**
 * The first major version hyperdrive-kit does not support yet: `@hyperdrive-kit/postgres` asks for `>=3.4.5 <5`
 * (Postgres.js 3 and 4), so 5 is the next major nobody has tested.
 */
export const DRIVER_UNSUPPORTED_FROM: Partial<Record<Driver, string>> = { postgres: "5.0.0" };

export interface DriverVersion {
  driver: Driver;
  version: string;
  /** Where the version came from, relative to the project. */
  source: string;
  /** The package.json range, when neither installed nor locked (the version is then the lowest it allows). */
  range?: string;
}

interface PackageJson {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, "utf8")) as T;
  } catch {
    return undefined;
  }
}

function installed(dir: string, name: string): string | undefined {
  // Node's own lookup: the nearest node_modules that has the package.
  for (const base of upwards(dir)) {
    const file = join(base, "node_modules", name, "package.json");
    if (existsSync(file)) return file;
  }
  return undefined;
}

/** yarn.lock, classic (`"pg@^8.11.3", pg@^8.0.0:` then `  version "8.11.3"`) and berry (`"pg@npm:^8.11.3":` then `  version: 8.11.3`). */
function yarnLocked(text: string, name: string, range: string): string | undefined {
  let candidates: { descriptors: string[]; version: string }[] = [];
  let current: string[] | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (line && !line.startsWith(" ") && !line.startsWith("#") && line.endsWith(":")) {
      current = line
        .slice(0, -1)
        .split(",")
        .map((part) => part.trim().replace(/^"|"$/g, ""));
      continue;
    }
    const version = /^\s+version:?\s+"?([^"\s]+)"?/.exec(line)?.[1];
    if (current && version) {
      const mine = current.filter((descriptor) => descriptor.startsWith(`${name}@`));
      if (mine.length > 0) candidates.push({ descriptors: mine, version });
      current = undefined;
    }
  }
  // The entry resolving this exact range, else the only entry for the package.
  const exact = candidates.find(({ descriptors }) =>
    descriptors.some((d) => d === `${name}@${range}` || d === `${name}@npm:${range}`),
  );
  if (exact) return exact.version;
  candidates = candidates.filter(({ version }) => semver.valid(version));
  return candidates.length === 1 ? candidates[0]?.version : undefined;
}

/** bun.lock (text, JSONC): `"packages": { "pg": ["pg@8.16.3", …], "worker/pg": [...] }`. */
function bunLocked(text: string, name: string, workspacePath: string): string | undefined {
  const lock = parseJsonc(text, [], { allowTrailingComma: true }) as
    | { packages?: Record<string, unknown[]> }
    | undefined;
  const packages = lock?.packages ?? {};
  const workspaceName = (lock as { workspaces?: Record<string, { name?: string }> } | undefined)?.workspaces?.[
    workspacePath
  ]?.name;
  for (const key of [workspaceName ? `${workspaceName}/${name}` : undefined, name]) {
    const entry = key ? packages[key] : undefined;
    const id = Array.isArray(entry) && typeof entry[0] === "string" ? entry[0] : undefined;
    if (id?.startsWith(`${name}@`)) return id.slice(name.length + 1).replace(/^npm:/, "");
  }
  return undefined;
}

async function locked(
  dir: string,
  name: string,
  range: string,
): Promise<{ version: string; file: string } | undefined> {
  for (const base of upwards(dir)) {
    const workspacePath = relative(base, dir).replaceAll("\\", "/");
    const npmLock = join(base, "package-lock.json");
    if (existsSync(npmLock)) {
      const lock = await readJson<{ packages?: Record<string, { version?: string }> }>(npmLock);
      const key = join(workspacePath, "node_modules", name).replaceAll("\\", "/");
      const version = lock?.packages?.[key]?.version ?? lock?.packages?.[`node_modules/${name}`]?.version;
      if (version) return { version, file: npmLock };
    }
    const pnpmLock = join(base, "pnpm-lock.yaml");
    if (existsSync(pnpmLock)) {
      try {
        const lock = parseYaml(await readFile(pnpmLock, "utf8")) as {
          importers?: Record<string, Record<string, Record<string, { version?: string }> | undefined>>;
        };
        const importer = lock.importers?.[workspacePath || "."];
        for (const group of ["dependencies", "devDependencies", "optionalDependencies"]) {
          // "8.16.3(pg-native@…)" → "8.16.3"; workspace links ("link:…") have no version.
          const version = semver.coerce(importer?.[group]?.[name]?.version ?? "", { includePrerelease: true });
          if (version) return { version: version.version, file: pnpmLock };
        }
      } catch {}
    }
    const yarnLock = join(base, "yarn.lock");
    if (existsSync(yarnLock)) {
      const version = yarnLocked(await readFile(yarnLock, "utf8"), name, range);
      if (version) return { version, file: yarnLock };
    }
    const bunLock = join(base, "bun.lock");
    if (existsSync(bunLock)) {
      const version = bunLocked(await readFile(bunLock, "utf8"), name, workspacePath);
      if (version) return { version, file: bunLock };
    }
  }
  return undefined;
}

/** The drivers a project declares in its package.json, each with the best version information there is. */
export async function driverVersions(dir: string, { dev = true } = {}): Promise<DriverVersion[]> {
  const manifest = await readJson<PackageJson>(join(dir, "package.json"));
  if (!manifest) return [];
  const declared = {
    ...manifest.optionalDependencies,
    ...(dev ? manifest.devDependencies : {}),
    ...manifest.dependencies,
  };
  const out: DriverVersion[] = [];
  for (const driver of Object.keys(DRIVER_MINIMUMS) as Driver[]) {
    const range = declared[driver];
    if (range === undefined) continue;
    const file = installed(dir, driver);
    const version = file ? (await readJson<{ version?: string }>(file))?.version : undefined;
    if (file && version) {
      out.push({ driver, version, source: relative(dir, file) || file });
      continue;
    }
    const lock = await locked(dir, driver, range);
    if (lock) {
      out.push({ driver, version: lock.version, source: relative(dir, lock.file) || lock.file });
      continue;
    }
    // Not installed, not locked: the lowest version the range allows is what a fresh install may get.
    const lowest = semver.validRange(range) ? semver.minVersion(range)?.version : undefined;
    if (lowest) out.push({ driver, version: lowest, source: `package.json: "${range}"`, range });
  }
  return out;
}

/**
 * Checks the drivers `dir`'s package.json declares; with `only`, just those (the ones the Worker's source uses); without
 * `dev`, not its devDependencies (a workspace library's test tools are not what the Worker gets).
 */
export async function lintDrivers(
  dir: string,
  { only, dev = true }: { only?: ReadonlySet<string> | undefined; dev?: boolean } = {},
): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const { driver, version: read, source, range } of await driverVersions(dir, { dev })) {
    if (only && !only.has(driver)) continue;
    const minimum = DRIVER_MINIMUMS[driver];
    // A version field semver cannot read (a hand-edited package.json in node_modules) is said, not thrown.
    const version = semver.valid(read) ?? semver.coerce(read, { includePrerelease: true })?.version;
    if (version === undefined) {
      findings.push(
        problem(
          "warn",
          "driver.version",
          "HDK_DOCTOR_DRIVER_VERSION",
          `${driver} "${read}" (${source}) is not a version the doctor can read: check that it is at least ${minimum}`,
          { location: { file: "package.json" } },
        ),
      );
      continue;
    }
    const unsupported = DRIVER_UNSUPPORTED_FROM[driver];
    // `-0`: prereleases of the next major (4.0.0-beta.1) are that major too.
    const tooNew = unsupported ? `>=${unsupported}-0` : undefined;
    const major = unsupported ? semver.major(unsupported) : 0;
    const fail = (code: "HDK_DOCTOR_DRIVER_VERSION" | "HDK_DOCTOR_DRIVER_UNSUPPORTED", title: string) =>
      findings.push(problem("fail", "driver.version", code, title, { location: { file: "package.json" } }));
    const before = findings.length;
    if (tooNew && semver.satisfies(version, tooNew, { includePrerelease: true })) {
      fail(
        "HDK_DOCTOR_DRIVER_UNSUPPORTED",
        `${driver} ${version} (${source}) is ${major}.x, which hyperdrive-kit does not support: install ${driver}@${major - 1}`,
      );
    } else {
      // Neither installed nor locked: a fresh install takes the newest version the range allows, so a range open to
      // the next major is a problem of its own, besides a lowest version that is too old.
      if (tooNew && range && semver.intersects(range, tooNew, { includePrerelease: true })) {
        fail(
          "HDK_DOCTOR_DRIVER_UNSUPPORTED",
          `${driver} "${range}" (package.json) allows ${major}.x, which hyperdrive-kit does not support: install ${driver}@${major - 1}`,
        );
      }
      if (semver.lt(version, minimum)) {
        fail(
          "HDK_DOCTOR_DRIVER_VERSION",
          `${driver} ${version} (${source}) is older than ${minimum}, Hyperdrive's minimum`,
        );
      }
    }
    if (findings.length === before) {
      findings.push(
        pass(
          "driver.version",
          `${driver} ${version} (${source}) ≥ ${minimum}${unsupported ? ` and < ${unsupported}` : ""}`,
        ),
      );
    }
  }
  return findings;
}
