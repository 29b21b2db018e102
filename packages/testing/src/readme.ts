/** Keeps an example's README honest: the files it shows must be there, word for word, as fenced code blocks. */
import { readFile } from "node:fs/promises";

/** Throws, naming the stale files, unless README.md in `dir` shows each of `files` (paths relative to `dir`) whole. */
export async function checkReadmeShows(dir: URL, files: readonly string[]): Promise<void> {
  const readme = await readFile(new URL("README.md", dir), "utf8");
  const blocks = [...readme.matchAll(/^```\w*\n([\s\S]*?)^```$/gm)].map((match) => match[1]);
  const stale: string[] = [];
  for (const file of files) {
    if (!blocks.includes(await readFile(new URL(file, dir), "utf8"))) stale.push(file);
  }
  if (stale.length > 0) {
    throw new Error(`README.md no longer shows ${stale.join(", ")} as it is: copy the file into its code block.`);
  }
}
