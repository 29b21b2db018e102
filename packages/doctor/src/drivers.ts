/** Which database drivers a Worker uses and in which version: installed, locked, or declared, in that order. */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import semver from "semver";
import { parse as parseYaml } from "yaml";
import { type Finding, pass, problem } from "./findings.ts";

/** Hyperdrive's minimums (seed 003 for postgres and mysql2; Cloudflare's driver pages for pg and mysql). */
export const DRIVER_MINIMUMS = { pg: "8.16.3", postgres: "3.4.5", mysql2: "3.13.0", mysql: "2.18.0" } as const;
export type Driver = keyof typeof DRIVER_MINIMUMS;

/**
 * The first major version hyperdrive-kit does not support: Postgres.js 4's pool retries a failed connect with backoff,
 * so a refused connection hangs instead of failing (`@hyperdrive-kit/postgres` asks for `>=3.4.5 <4`).
 */
export const DRIVER_UNSUPPORTED_FROM: Partial<Record<Driver, string>> = { postgres: "4.0.0" };

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

/** `dir` and its parents, up to the file system root. */
function* upwards(dir: string): Generator<string> {
  let current = dir;
  while (true) {
    yield current;
    const parent = dirname(current);
    if (parent === current) return;
    current = parent;
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

async function locked(dir: string, name: string): Promise<{ version: string; file: string } | undefined> {
  for (const base of upwards(dir)) {
    const npmLock = join(base, "package-lock.json");
    if (existsSync(npmLock)) {
      const lock = await readJson<{ packages?: Record<string, { version?: string }> }>(npmLock);
      const key = join(relative(base, dir), "node_modules", name).replaceAll("\\", "/");
      const version = lock?.packages?.[key]?.version ?? lock?.packages?.[`node_modules/${name}`]?.version;
      if (version) return { version, file: npmLock };
    }
    const pnpmLock = join(base, "pnpm-lock.yaml");
    if (existsSync(pnpmLock)) {
      try {
        const lock = parseYaml(await readFile(pnpmLock, "utf8")) as {
          importers?: Record<string, Record<string, Record<string, { version?: string }> | undefined>>;
        };
        const importer = lock.importers?.[relative(base, dir).replaceAll("\\", "/") || "."];
        for (const group of ["dependencies", "devDependencies", "optionalDependencies"]) {
          // "8.16.3(pg-native@…)" → "8.16.3"; workspace links ("link:…") have no version.
          const version = semver.coerce(importer?.[group]?.[name]?.version ?? "", { includePrerelease: true });
          if (version) return { version: version.version, file: pnpmLock };
        }
      } catch {}
    }
  }
  return undefined;
}

/** The drivers a project declares in its package.json, each with the best version information there is. */
export async function driverVersions(dir: string): Promise<DriverVersion[]> {
  const manifest = await readJson<PackageJson>(join(dir, "package.json"));
  if (!manifest) return [];
  const declared = { ...manifest.optionalDependencies, ...manifest.devDependencies, ...manifest.dependencies };
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
    const lock = await locked(dir, driver);
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

export async function lintDrivers(dir: string): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const { driver, version: read, source, range } of await driverVersions(dir)) {
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
