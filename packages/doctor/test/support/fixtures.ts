/** Copies a fixture project to a fresh temporary directory: away from this repository's node_modules and lockfile. */
import { cp, mkdtemp, readdir, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const FIXTURES = new URL("../fixtures/", import.meta.url);

// Stored as dot-env / dot-dev.vars: the repository ignores .env and .dev.vars files.
const DOTFILES: Record<string, string> = { "dot-env": ".env", "dot-dev.vars": ".dev.vars" };

export async function fixture(name: string): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `hdk-doctor-${name.replaceAll("/", "-")}-`));
  await cp(new URL(name, FIXTURES), dir, { recursive: true });
  for (const entry of await readdir(dir)) {
    const target = DOTFILES[entry];
    if (target) await rename(join(dir, entry), join(dir, target));
  }
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
