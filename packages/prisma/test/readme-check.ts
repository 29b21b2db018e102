/**
 * Every ```ts block of the README is a file under test/readme/, so `tsc` type-checks what users copy. Run by
 * `pnpm typecheck` before `tsc`; fails when a block and the files drift apart.
 */
import { readdir, readFile } from "node:fs/promises";

const dir = new URL("./readme/", import.meta.url);
const readme = await readFile(new URL("../README.md", import.meta.url), "utf8");
const files = await Promise.all(
  (await readdir(dir)).filter((name) => name.endsWith(".ts")).map((name) => readFile(new URL(name, dir), "utf8")),
);
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] ?? "");
const unchecked = blocks.filter((block) => !files.some((file) => file === block));
if (blocks.length === 0 || unchecked.length > 0) {
  console.error(`README.md: ${unchecked.length} of ${blocks.length} ts blocks are not a file in test/readme/:`);
  for (const block of unchecked) console.error(`---\n${block}`);
  process.exit(1);
}
console.log(`README.md: all ${blocks.length} ts blocks are type-checked files in test/readme/.`);
