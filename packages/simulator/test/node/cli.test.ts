/** `hyperdrive-kit-dev`: what it prints, and its usage errors. */
import { type RunningServer, startPostgres } from "@hyperdrive-kit/testing/servers";
import pg from "pg";
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
