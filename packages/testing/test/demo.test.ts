import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { freePort } from "../src/servers/free-port.ts";

/** Waits until the child has printed a line matching `pattern`, and returns the match. */
function printed(child: ChildProcess, pattern: RegExp): Promise<RegExpMatchArray> {
  let output = "";
  return new Promise((resolve, reject) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = output.match(pattern);
      if (match) resolve(match);
    });
    child.once("exit", (code) => reject(new Error(`the demo exited (${code}) before printing ${pattern}:\n${output}`)));
  });
}

/** The data directory of the embedded PostgreSQL listening on `port` (from its postmaster.opts). */
async function dataDirectoryOf(port: string): Promise<string | undefined> {
  for (const name of await readdir(tmpdir())) {
    if (!name.startsWith("hdk-pg-")) continue;
    const opts = await readFile(join(tmpdir(), name, "data", "postmaster.opts"), "utf8").catch(() => "");
    if (opts.includes(`"-p" "${port}"`)) return join(tmpdir(), name);
  }
  return undefined;
}

it("on SIGINT stops wrangler and the database, deletes the data directory and exits 0", async () => {
  const port = await freePort();
  const demo = spawn(process.execPath, ["demo.ts"], {
    cwd: new URL("./fixtures/demo/", import.meta.url),
    env: { ...process.env, PORT: String(port), WRANGLER_SEND_METRICS: "false" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = once(demo, "exit");
  try {
    const [, databasePort = ""] = await printed(demo, /database port (\d+)/);
    await printed(demo, /Open http:\/\//);
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(200);
    const dir = await dataDirectoryOf(databasePort);
    expect(dir && existsSync(dir)).toBe(true);

    demo.kill("SIGINT");
    const [code, signal] = await exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(existsSync(dir as string)).toBe(false);
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
  } finally {
    // After a failure: the same shutdown, so that no wrangler or PostgreSQL outlives the test.
    if (demo.exitCode === null && demo.signalCode === null) {
      demo.kill("SIGINT");
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 20_000))]);
      demo.kill("SIGKILL");
    }
  }
}, 180_000);
