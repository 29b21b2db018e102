/**
 * A package registry on 127.0.0.1 for npx to resolve from, offline: the tarballs `pnpm pack` makes of this repository's
 * packages, and every dependency they need packed from the copies pnpm installed here. npm talks to it exactly as it
 * talks to registry.npmjs.org (packuments, tarballs, integrity), so `npx @hyperdrive-kit/doctor` runs as users run it.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { readdir, readFile, realpath } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

interface Manifest {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [key: string]: unknown;
}

interface Entry {
  manifest: Manifest;
  tarball: Buffer;
}

/** Packs `dir` as `package/…` the way npm lays out a tarball (no nested node_modules). */
async function tarOf(dir: string, out: string): Promise<Buffer> {
  await run("tar", ["-czf", out, "--exclude=./node_modules", "--transform", "s,^\\.,package,", "-C", dir, "."]);
  return readFile(out);
}

export interface Registry {
  url: string;
  names: string[];
  close(): Promise<void>;
}

/**
 * Serves `packed` (tarballs of this repository's packages) and the dependency closure of `from` (package directories
 * whose dependencies pnpm installed), packed into `scratch`.
 */
export async function startRegistry(packed: string[], from: string[], scratch: string): Promise<Registry> {
  const entries = new Map<string, Entry>();
  for (const file of packed) {
    const { stdout } = await run("tar", ["-xOzf", file, "package/package.json"]);
    const manifest = JSON.parse(stdout) as Manifest;
    entries.set(`${manifest.name}@${manifest.version}`, { manifest, tarball: await readFile(file) });
  }
  // pnpm's layout: a package's dependencies are its siblings in the `node_modules` folder that holds it.
  const visit = async (dir: string, depNames: string[]): Promise<void> => {
    for (const name of depNames) {
      let location: string;
      try {
        location = await realpath(join(dir, name));
      } catch {
        continue; // an optional dependency for another platform
      }
      const manifest = JSON.parse(await readFile(join(location, "package.json"), "utf8")) as Manifest;
      const key = `${manifest.name}@${manifest.version}`;
      if (entries.has(key) || manifest.name.startsWith("@hyperdrive-kit/")) continue;
      const tarball = await tarOf(location, join(scratch, `${key.replace(/[@/]/g, "_")}.tgz`));
      entries.set(key, { manifest, tarball });
      const required = Object.keys(manifest.peerDependencies ?? {}).filter(
        (peer) => !manifest.peerDependenciesMeta?.[peer]?.optional,
      );
      const siblings = manifest.name.startsWith("@") ? dirname(dirname(location)) : dirname(location);
      await visit(siblings, [
        ...Object.keys(manifest.dependencies ?? {}),
        ...Object.keys(manifest.optionalDependencies ?? {}),
        ...required,
      ]);
    }
  };
  for (const dir of from) {
    const manifest = JSON.parse(await readFile(join(dir, "package.json"), "utf8")) as Manifest;
    await visit(join(dir, "node_modules"), Object.keys(manifest.dependencies ?? {}));
  }

  let base = "";
  const packument = (name: string) => {
    const versions = [...entries.values()].filter(({ manifest }) => manifest.name === name);
    if (versions.length === 0) return undefined;
    const latest = versions
      .map(({ manifest }) => manifest.version)
      .sort()
      .at(-1) as string;
    return {
      name,
      "dist-tags": { latest },
      versions: Object.fromEntries(
        versions.map(({ manifest, tarball }) => [
          manifest.version,
          {
            ...manifest,
            dist: {
              tarball: `${base}/-/${encodeURIComponent(`${manifest.name}@${manifest.version}`)}.tgz`,
              integrity: `sha512-${createHash("sha512").update(tarball).digest("base64")}`,
              shasum: createHash("sha1").update(tarball).digest("hex"),
            },
          },
        ]),
      ),
    };
  };
  const server: Server = createServer((request, response) => {
    const path = decodeURIComponent((request.url ?? "/").split("?")[0] as string).slice(1);
    if (path.startsWith("-/")) {
      const entry = entries.get(path.slice(2).replace(/\.tgz$/, ""));
      if (entry) {
        response.writeHead(200, { "content-type": "application/octet-stream" }).end(entry.tarball);
        return;
      }
    } else {
      const body = packument(path);
      if (body) {
        response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
        return;
      }
    }
    response.writeHead(404, { "content-type": "application/json" }).end('{"error":"Not found"}');
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    names: [...new Set([...entries.values()].map(({ manifest }) => manifest.name))].sort(),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export async function packInto(packageDir: string, destination: string): Promise<string> {
  const before = new Set(await readdir(destination));
  await run("pnpm", ["pack", "--pack-destination", destination], { cwd: packageDir, timeout: 120_000 });
  const tarball = (await readdir(destination)).find((name) => !before.has(name) && name.endsWith(".tgz"));
  if (tarball === undefined) throw new Error(`pnpm pack wrote no tarball for ${packageDir}`);
  return join(destination, tarball);
}
