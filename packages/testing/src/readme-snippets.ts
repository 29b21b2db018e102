/**
 * Fails when a README's TypeScript snippet is not, word for word, in one of the package's type-checked snippet
 * files (`test/readme/*.ts`, compiled by the package's `typecheck`), so the README cannot drift from code that
 * compiles. A snippet file may declare what the snippet assumes (`Env`, a schema) above it.
 * Run from a package: `node ../testing/src/readme-snippets.ts` (its `docs:check` script).
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

const FENCE = /^[ \t]*```ts\n([\s\S]*?)^[ \t]*```$/gm;
/** Compared without indentation and blank lines, so a snippet may sit inside a block of the file. */
const normalize = (code: string) =>
  code
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .join("\n");

const dir = process.cwd();
const readme = await readFile(join(dir, "README.md"), "utf8");
const snippetDir = join(dir, "test", "readme");
const files = (await readdir(snippetDir)).filter((name) => name.endsWith(".ts"));
const sources = await Promise.all(files.map(async (name) => normalize(await readFile(join(snippetDir, name), "utf8"))));

const snippets = [...readme.matchAll(FENCE)].map((match) => match[1] ?? "");
const missing = snippets.filter((snippet) => !sources.some((source) => source.includes(normalize(snippet))));
if (snippets.length === 0) {
  console.error("README.md has no ```ts snippet to check.");
  process.exit(1);
}
if (missing.length > 0) {
  for (const snippet of missing) console.error(`README.md snippet not found in test/readme/*.ts:\n${snippet}`);
  console.error(`${missing.length} of ${snippets.length} README snippets are not type-checked; copy them there.`);
  process.exit(1);
}
console.log(`README.md: ${snippets.length} snippets, each type-checked in test/readme/.`);
