/**
 * What users install: the package.json each public package publishes, read from the tarball `pnpm pack` makes (the
 * same code path as `pnpm publish`, and so `changeset publish`). It must name only what users need: no
 * devDependencies (the private testing package among them), no scripts, no `workspace:` ranges.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const packages = new URL("../../", import.meta.url).pathname;

interface Manifest {
  name: string;
  private?: boolean;
  scripts?: unknown;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

const readManifest = async (path: string) => JSON.parse(await readFile(path, "utf8")) as Manifest;

const all = await Promise.all(
  (await readdir(packages)).map(async (dir) => ({
    dir,
    manifest: await readManifest(join(packages, dir, "package.json")),
  })),
);
const publicPackages = all.filter(({ manifest }) => manifest.private !== true);
const privateNames = new Set(
  all.filter(({ manifest }) => manifest.private === true).map(({ manifest }) => manifest.name),
);

const out = await mkdtemp(join(tmpdir(), "hdk-packed-"));
afterAll(() => rm(out, { recursive: true, force: true }));

/** Packs `dir` as `pnpm publish` would and returns the package.json inside the tarball. */
async function packedManifest(dir: string): Promise<Manifest> {
  const destination = join(out, dir);
  await run("pnpm", ["pack", "--pack-destination", destination], { cwd: join(packages, dir), timeout: 60_000 });
  const [tarball] = await readdir(destination);
  if (tarball === undefined) throw new Error(`pnpm pack wrote no tarball for ${dir}`);
  const { stdout } = await run("tar", ["-xOzf", join(destination, tarball), "package/package.json"]);
  return JSON.parse(stdout) as Manifest;
}

describe("published package.json", () => {
  it("covers every public package", () => {
    expect(publicPackages.map(({ manifest }) => manifest.name)).toEqual(
      expect.arrayContaining(["@hyperdrive-kit/core", "@hyperdrive-kit/pg", "@hyperdrive-kit/mysql"]),
    );
    expect(privateNames).toContain("@hyperdrive-kit/testing");
  });

  it.each(publicPackages)("$manifest.name lists only what users install", async ({ dir, manifest }) => {
    const packed = await packedManifest(dir);
    expect(packed.name).toBe(manifest.name);
    expect(packed.devDependencies).toBeUndefined();
    expect(packed.scripts).toBeUndefined();
    const ranges = {
      ...packed.dependencies,
      ...packed.peerDependencies,
      ...packed.optionalDependencies,
    };
    for (const [name, range] of Object.entries(ranges)) {
      expect(privateNames.has(name), `${manifest.name} depends on the private ${name}`).toBe(false);
      expect(range, `${manifest.name}: ${name}`).not.toMatch(/^workspace:/);
    }
  });
});
