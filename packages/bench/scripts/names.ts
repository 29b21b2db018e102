/**
 * `pnpm --filter @hyperdrive-kit/bench size` runs this after the size check: no named closure inside a function in
 * core, an adapter or an integration. wrangler bundles with esbuild's `keep_names`, which wraps every named closure
 * (`const f = () => …`, `{ f: () => … }`, a nested `function f`) in `__name(f, "f")`, an `Object.defineProperty` call
 * each time the closure is made: per request, for code that runs per request (the bench's allocation profile showed
 * 0.7 KB a request from one adapter's five). Method shorthand, classes, module-level functions and callbacks passed
 * inline are named by the language at no cost. Each package is bundled from its `exports` (a stale chunk left in
 * `dist` is not read) with the esbuild wrangler itself uses; exits 1 when one is found.
 */
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { fromWrangler } from "../src/wrangler.ts";

const packages = join(dirname(fileURLToPath(import.meta.url)), "../..");
/**
 * Every package whose code runs per request: the hyperdrive-kit packages this one depends on (so turbo builds them
 * first), without the testing package, which runs in the tests only.
 */
const bench = JSON.parse(await readFile(join(packages, "bench/package.json"), "utf8")) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const PACKAGES = Object.keys({ ...bench.dependencies, ...bench.devDependencies })
  .filter((name) => name.startsWith("@hyperdrive-kit/") && name !== "@hyperdrive-kit/testing")
  .map((name) => name.slice("@hyperdrive-kit/".length));

/** The part of esbuild's API used here (esbuild is wrangler's dependency, not this package's). */
type Build = (options: {
  entryPoints: string[];
  bundle: true;
  write: false;
  format: "esm";
  keepNames: true;
  outdir: string;
  packages: "external";
  external: string[];
  logLevel: "silent";
}) => Promise<{ outputFiles: Array<{ path: string; text: string }> }>;
const { build } = (await import(fromWrangler.resolve("esbuild"))) as { build: Build };

/** The files a package's `exports` point at: what users import, and through them every chunk they load. */
async function entryPoints(name: string): Promise<string[]> {
  const manifest = JSON.parse(await readFile(join(packages, name, "package.json"), "utf8")) as {
    exports: Record<string, string | { default?: string }>;
  };
  return Object.values(manifest.exports)
    .map((target) => (typeof target === "string" ? target : target.default))
    .filter((target): target is string => target?.endsWith(".js") === true)
    .map((target) => join(packages, name, target));
}

const found = new Set<string>();
for (const name of PACKAGES) {
  const { outputFiles } = await build({
    entryPoints: await entryPoints(name),
    bundle: true,
    write: false,
    format: "esm",
    keepNames: true,
    outdir: join(packages, name, "names-check"),
    // Drivers and other packages are not ours to check; node: and cloudflare: modules are the runtime's.
    packages: "external",
    external: ["node:*", "cloudflare:*"],
    logLevel: "silent",
  });
  for (const output of outputFiles) {
    output.text.split("\n").forEach((line) => {
      // Indented: inside a function or block. `__name(this, …)` is a class's static block, run once.
      if (/^\s+.*\b__name\(/.test(line) && !/__name\(this,/.test(line)) {
        found.add(`${name} (bundled as esbuild keep_names emits it): ${line.trim().slice(0, 120)}`);
      }
    });
  }
}
if (found.size > 0) {
  console.error(
    `Named closures inside functions, each an Object.defineProperty per call under wrangler's keep_names:\n${[...found].join("\n")}\nUse method shorthand, a class, a module-level function or an inline callback instead.`,
  );
  process.exitCode = 1;
} else {
  console.log(`No named closures inside functions in ${PACKAGES.join(", ")} (esbuild keep_names).`);
}
