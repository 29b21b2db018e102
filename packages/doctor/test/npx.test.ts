/**
 * The README's command, as npx resolves it: `npx @hyperdrive-kit/doctor` and `npx -p @hyperdrive-kit/doctor
 * hyperdrive-kit doctor`, with npm on this Node, from the tarballs `pnpm pack` makes, through a registry on 127.0.0.1
 * (offline: no request leaves the machine).
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixture } from "./support/fixtures.ts";
import { packInto, type Registry, startRegistry } from "./support/registry.ts";

const run = promisify(execFile);
const DOCTOR = fileURLToPath(new URL("..", import.meta.url));
const CORE = fileURLToPath(new URL("../../core", import.meta.url));

let scratch: string;
let registry: Registry;
let npxCli: string;
let worker: Awaited<ReturnType<typeof fixture>>;
let manifest: { bin?: Record<string, string> };

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "hdk-doctor-npx-"));
  // The tarball holds dist/: build it from this source first, as `pnpm publish` would after `pnpm build`.
  await run("pnpm", ["run", "build"], { cwd: DOCTOR, timeout: 120_000 });
  const packed = join(scratch, "packed");
  await mkdir(packed);
  const doctorTarball = await packInto(DOCTOR, packed);
  const coreTarball = await packInto(CORE, packed);
  manifest = JSON.parse((await run("tar", ["-xOzf", doctorTarball, "package/package.json"])).stdout);
  await mkdir(join(scratch, "tgz"));
  registry = await startRegistry([doctorTarball, coreTarball], [DOCTOR], join(scratch, "tgz"));
  // npm's own npx, run by this Node (the repository pins Node 22): `npm`'s bin is a link to npm-cli.js, npx-cli.js is
  // beside it.
  const { stdout } = await run("sh", ["-c", "command -v npm"]);
  npxCli = join(dirname(await realpath(stdout.trim())), "npx-cli.js");
  worker = await fixture("corpus/pg-per-request");
}, 300_000);

afterAll(async () => {
  await registry?.close();
  await worker?.remove();
  await rm(scratch, { recursive: true, force: true });
});

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** `npx …` (npm's npx-cli.js) in an empty directory, with a fresh cache and no user configuration, against the local registry. */
async function npx(args: string[]): Promise<Result> {
  const cwd = await mkdtemp(join(scratch, "cwd-"));
  const userconfig = join(cwd, ".npmrc");
  await writeFile(userconfig, "");
  // Not the npm_config_* variables pnpm sets for its scripts: a user's shell has none of them.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)));
  const env = {
    ...inherited,
    NO_COLOR: "1",
    npm_config_registry: `${registry.url}/`,
    npm_config_cache: join(scratch, "cache"),
    npm_config_userconfig: userconfig,
    npm_config_audit: "false",
    npm_config_fund: "false",
    npm_config_update_notifier: "false",
    npm_config_yes: "true",
  };
  try {
    const { stdout, stderr } = await run(process.execPath, [npxCli, ...args], {
      cwd,
      env,
      timeout: 240_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof failed.code === "number" ? failed.code : -1,
      stdout: failed.stdout ?? "",
      stderr: failed.stderr ?? "",
    };
  }
}

describe("the README's command from the packed tarball", () => {
  it("has one binary, hyperdrive-kit, which npx runs for the package name", () => {
    expect(manifest.bin).toEqual({ "hyperdrive-kit": "./dist/cli.js" });
    expect(registry.names).toEqual(
      expect.arrayContaining(["@hyperdrive-kit/doctor", "@hyperdrive-kit/core", "commander", "pg"]),
    );
  });

  it("npx @hyperdrive-kit/doctor <dir> runs the doctor", async () => {
    const result = await npx(["@hyperdrive-kit/doctor", worker.dir, "--json"]);
    expect(result.stderr).not.toMatch(/ERR!/);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({ version: 1, exitCode: 0, summary: { fail: 0, warn: 0 } });
  }, 300_000);

  it("npx -p @hyperdrive-kit/doctor hyperdrive-kit doctor <dir> runs it too", async () => {
    const result = await npx(["-p", "@hyperdrive-kit/doctor", "hyperdrive-kit", "doctor", worker.dir]);
    expect(result.stderr).not.toMatch(/ERR!/);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Project  wrangler.jsonc");
    expect(result.stdout).toMatch(/\d+ passed · 0 warnings · 0 failed/);
  }, 300_000);

  it("npx hyperdrive-kit doctor (the old README) asks for an unscoped package that is not this one", async () => {
    const result = await npx(["hyperdrive-kit", "doctor", worker.dir]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/404|E404/);
  }, 300_000);
});
