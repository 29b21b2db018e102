/**
 * `pnpm --filter @hyperdrive-kit/bench size` runs this after the size check: no named closure inside a function in
 * core or an adapter. wrangler bundles with esbuild's `keep_names`, which wraps every named closure (`const f = () =>
 * …`, `{ f: () => … }`, a nested `function f`) in `__name(f, "f")`, an `Object.defineProperty` call each time the
 * closure is made: per request, for code that runs per request (the bench's allocation profile showed 0.7 KB a
 * request from one adapter's five). Method shorthand, classes, module-level functions and callbacks passed inline
 * are named by the language at no cost. Compiled with the esbuild wrangler itself uses; exits 1 when one is found.
 */
import { readdir, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const packages = join(dirname(fileURLToPath(import.meta.url)), "../..");
const PACKAGES = ["core", "pg", "postgres", "mysql2", "mysql"];

const fromWrangler = createRequire(createRequire(import.meta.url).resolve("wrangler/package.json"));
/** The part of esbuild's API used here (esbuild is wrangler's dependency, not this package's). */
type Transform = (code: string, options: { keepNames: boolean; format: "esm" }) => Promise<{ code: string }>;
const { transform } = (await import(fromWrangler.resolve("esbuild"))) as { transform: Transform };

const found: string[] = [];
for (const name of PACKAGES) {
  const dist = join(packages, name, "dist");
  for (const file of (await readdir(dist)).filter((entry) => entry.endsWith(".js"))) {
    const path = join(dist, file);
    const { code } = await transform(await readFile(path, "utf8"), { keepNames: true, format: "esm" });
    code.split("\n").forEach((line, index) => {
      // Indented: inside a function or block. `__name(this, …)` is a class's static block, run once.
      if (/^\s+.*\b__name\(/.test(line) && !/__name\(this,/.test(line)) {
        found.push(
          `${relative(packages, path)}:${index + 1} (as esbuild keep_names emits it): ${line.trim().slice(0, 120)}`,
        );
      }
    });
  }
}
if (found.length > 0) {
  console.error(
    `Named closures inside functions, each an Object.defineProperty per call under wrangler's keep_names:\n${found.join("\n")}\nUse method shorthand, a class, a module-level function or an inline callback instead.`,
  );
  process.exitCode = 1;
} else {
  console.log(`No named closures inside functions in ${PACKAGES.join(", ")} (esbuild keep_names).`);
}
