/** `hyperdrive-kit-dev`: what it prints, and its usage errors. */

import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { type RunningServer, refusedPort, startPostgres } from "@hyperdrive-kit/testing/servers";
import pg from "pg";
import { serialize } from "pg-protocol";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../../src/main.ts";

let server: RunningServer;
beforeAll(async () => {
  server = await startPostgres();
});
afterAll(async () => {
  await server?.stop();
});

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    out.push(String(chunk));
    return true;
  });
  vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
    err.push(String(chunk));
    return true;
  });
  return { out, err, restore: () => vi.restoreAllMocks() };
}

describe("hyperdrive-kit-dev", () => {
  it("prints localConnectionString and the .env line, logs each statement, and never the origin's password", async () => {
    const io = capture();
    const stop = new AbortController();
    const running = main(["--origin", server.url, "--binding", "DB", "--pool-size", "2"], { signal: stop.signal });
    let line: string | undefined;
    for (let i = 0; i < 200 && !line; i++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      line = io.out.join("").match(/CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_DB=(\S+)/)?.[1];
    }
    expect(line).toMatch(/^postgres:\/\/postgres:hyperdrive-kit-dev@127\.0\.0\.1:\d+\/hdk$/);
    const client = new pg.Client({ connectionString: line });
    await client.connect();
    await client.query("select 1 as one");
    await client.end();
    stop.abort();
    expect(await running).toBe(0);
    io.restore();
    const printed = io.out.join("");
    expect(printed).toContain("[hyperdrive] cache=miss");
    expect(printed).toContain("select 1 as one");
    expect(printed).not.toContain(new URL(server.url).password);
  });

  it("answers usage errors with exit code 2 and a message that says what to give", async () => {
    const io = capture();
    expect(await main([])).toBe(2);
    expect(await main(["--origin", "mysql2://x@y/z"])).toBe(2);
    expect(await main(["--origin", server.url, "--pool-size", "0"])).toBe(2);
    expect(await main(["--origin", server.url, "--binding", "not a name"])).toBe(2);
    io.restore();
    const errors = io.err.join("");
    expect(errors).toContain("give the origin database: --origin");
    expect(errors).toContain('protocol "mysql2:" is not supported');
    expect(errors).toContain("--pool-size must be a whole number above 0");
    expect(errors).toContain("--binding must be the binding's name");
    expect(errors).not.toContain(new URL(server.url).password);
  });
});

/** The CLI as a process, as `wrangler dev` users run it: it stops on SIGTERM and SIGINT whatever its clients do. */
describe("hyperdrive-kit-dev as a process", () => {
  async function start(origin = server.url) {
    const child = spawn(
      process.execPath,
      [
        fileURLToPath(new URL("../../src/cli.ts", import.meta.url)),
        "--origin",
        origin,
        "--pool-size",
        "1",
        "--acquire-timeout",
        "1000",
      ],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once("exit", (code, signal) => resolve({ code, signal })),
    );
    for (let i = 0; i < 300 && !/localConnectionString to:\n\s+(\S+)/.test(out); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const url = /localConnectionString to:\n\s+(\S+)/.exec(out)?.[1];
    expect(url).toBeDefined();
    return { child, exited, url: url as string };
  }

  const stopsWithin = async (exited: Promise<{ code: number | null }>) => {
    const outcome = await Promise.race([
      exited,
      new Promise((resolve) => setTimeout(() => resolve("still running"), 15_000)),
    ]);
    expect(outcome).toEqual({ code: 0, signal: null });
  };

  it("stops on SIGTERM while idle, and on SIGINT", async () => {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      const { child, exited } = await start();
      child.kill(signal);
      await stopsWithin(exited);
    }
  });

  it("stops on SIGTERM with its origin down and a client that got connection_refused", async () => {
    const down = new URL(server.url);
    down.port = String(await refusedPort());
    const { child, exited, url } = await start(down.toString());
    const client = new pg.Client({ connectionString: url });
    client.on("error", () => {});
    await client.connect();
    await expect(client.query("select 1")).rejects.toMatchObject({ code: "58000" });
    child.kill("SIGTERM");
    await stopsWithin(exited);
    await client.end().catch(() => {});
  });

  it("stops on SIGTERM with a client mid-statement and one waiting for the pool", async () => {
    const { child, exited, url } = await start();
    const busy = new pg.Client({ connectionString: url });
    const waiting = new pg.Client({ connectionString: url });
    for (const client of [busy, waiting]) {
      client.on("error", () => {});
      await client.connect();
    }
    busy.query("select pg_sleep(60)").catch(() => {});
    waiting.query("select pg_sleep(60)").catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 300));
    child.kill("SIGTERM");
    await stopsWithin(exited);
    for (const client of [busy, waiting]) await client.end().catch(() => {});
  });

  it("stops on SIGTERM after clients left mid-batch, the leak that used to keep it alive", async () => {
    const { child, exited, url } = await start();
    for (let i = 0; i < 5; i++) {
      const client = new pg.Client({ connectionString: url });
      client.on("error", () => {});
      await client.connect();
      const stream = (client as unknown as { connection: { stream: NodeJS.WritableStream & { destroy(): void } } })
        .connection.stream;
      stream.write(
        Buffer.concat([
          serialize.parse({ text: "select 1/0" }),
          serialize.bind({}),
          serialize.execute({}),
          serialize.flush(),
        ]),
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      stream.destroy();
    }
    const after = new pg.Client({ connectionString: url });
    await after.connect();
    expect((await after.query("select 1 as one")).rows).toEqual([{ one: 1 }]);
    await after.end();
    child.kill("SIGTERM");
    await stopsWithin(exited);
  });
});
