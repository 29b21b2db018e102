/** The `hyperdrive-kit` binary as users run it: exit codes, --json, usage errors, and the progress line. */
import { fileURLToPath } from "node:url";
import { refusedPort } from "@hyperdrive-kit/testing/servers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { progressLine } from "../src/report.ts";
import { cli } from "./support/cli.ts";
import { fixture } from "./support/fixtures.ts";

const EXAMPLE = fileURLToPath(new URL("../../../examples/postgres", import.meta.url));

describe("hyperdrive-kit doctor", () => {
  let project: Awaited<ReturnType<typeof fixture>>;
  beforeAll(async () => {
    project = await fixture("lint-jsonc");
  });
  afterAll(() => project.remove());

  it("exits 0 on the postgres example Worker and prints grouped findings", async () => {
    const run = await cli(["doctor", EXAMPLE]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("Project  wrangler.jsonc");
    expect(run.stdout).toContain("✓ nodejs_compat on, compatibility_date 2025-09-01");
    // The example's id is all zeros, a placeholder: a warning, not a failure.
    expect(run.stdout).toContain('! binding HYPERDRIVE: id "00000000000000000000000000000000" is a placeholder');
    expect(run.stdout).toMatch(/\d+ passed · 1 warning · 0 failed/);
    // Not a terminal: no progress line, nothing on stderr.
    expect(run.stderr).toBe("");
  });

  it("exits 1 when a check fails, with the catalogue's fix under each finding", async () => {
    const run = await cli(["doctor", project.dir]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("✗ src/index.ts:5:14: new Pool() creates a node-postgres client at module scope");
    expect(run.stdout).toContain("HDK_GLOBAL_SCOPE");
    expect(run.stdout).toContain("Fix: Move the database client creation into your `fetch`");
  });

  it("--json prints only the report, with the same exit code", async () => {
    const run = await cli(["doctor", project.dir, "--json"]);
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({ version: 1, exitCode: 1, summary: { fail: 14, warn: 5 } });
    expect(report.sections.map((s: { kind: string; title: string }) => `${s.kind}: ${s.title}`)).toEqual([
      "project: wrangler.jsonc",
      "project: wrangler.jsonc [env.staging]",
      "project: wrangler.jsonc [env.production]",
      "project: package.json",
      "project: source",
    ]);
  });

  it("runs the preflight for --url and exits 1 on a refused connection", async () => {
    const port = await refusedPort();
    const run = await cli(["doctor", "--url", `postgres://app:pw-in-url@127.0.0.1:${port}/app`, "--json"], project.dir);
    // In a Worker project directory, the project is linted too; the connection section comes after the origin's.
    const report = JSON.parse(run.stdout);
    expect(run.code).toBe(1);
    const connection = report.sections.find((s: { kind: string }) => s.kind === "connection");
    expect(connection.findings.at(-1)).toMatchObject({
      status: "fail",
      code: "HDK_CONFIG_CONNECTION_REFUSED",
      hyperdriveCode: 2011,
    });
    expect(run.stdout).not.toContain("pw-in-url");
  });

  it.each([
    [["doctor", "--nope"], /unknown option '--nope'/],
    [["doctor", "/no/such/dir"], /\/no\/such\/dir is not a directory/],
    [
      ["doctor", "--url", "postgres://u:p@h/db", "--client-cert", "c.pem"],
      /--client-cert and --client-key go together/,
    ],
    [["doctor", "--url", "postgres://u:p@h/db", "--sslmode", "sometimes"], /unknown sslmode "sometimes"/],
    [["doctor", "--timeout", "soon"], /expected a positive number of milliseconds/],
    // `doctor` is the default command (`npx @hyperdrive-kit/doctor [dir]`): a word that is no command is a directory.
    [["frobnicate"], /frobnicate is not a directory/],
  ])("exits 2 on a usage error: %j", async (args, message) => {
    const run = await cli(args, project.dir);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stdout).toBe("");
  });

  it("reports origin fields wrangler would refuse as a failed check (exit 1), not a usage error", async () => {
    const run = await cli(["doctor", "--url", "redis://h/0", "--json"], fileURLToPath(new URL("..", import.meta.url)));
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout).sections).toEqual([
      expect.objectContaining({
        kind: "origin",
        findings: [expect.objectContaining({ status: "fail", code: "HDK_DOCTOR_ORIGIN_FIELDS" })],
      }),
    ]);
  });

  it("exits 2 in a directory that is not a Worker project when nothing else is asked", async () => {
    const run = await cli(["doctor"], fileURLToPath(new URL("..", import.meta.url)));
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/has no wrangler.jsonc, wrangler.json or wrangler.toml/);
  });

  it("runs the doctor without the command name, as `npx @hyperdrive-kit/doctor` does", async () => {
    const run = await cli([EXAMPLE, "--json"]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).sections[0].title).toBe("wrangler.jsonc");
  });

  it("exits 0 for --help", async () => {
    const run = await cli(["doctor", "--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("--connect");
  });
});

describe("progress line", () => {
  const stream = (isTTY: boolean) => {
    const writes: string[] = [];
    return { writes, stream: { isTTY, write: (text: string) => writes.push(text) } as unknown as NodeJS.WriteStream };
  };

  it("draws and clears a line on a terminal", () => {
    const tty = stream(true);
    const show = progressLine(tty.stream);
    show("connecting to 127.0.0.1:5432");
    show(undefined);
    expect(tty.writes[0]?.startsWith("\r\x1b[2K")).toBe(true);
    expect(tty.writes[0]).toMatch(/ connecting to 127\.0\.0\.1:5432…$/);
    expect(tty.writes.at(-1)).toBe("\r\x1b[2K");
  });

  it("writes nothing when not a terminal", () => {
    const pipe = stream(false);
    const show = progressLine(pipe.stream);
    show("connecting");
    show(undefined);
    expect(pipe.writes).toEqual([]);
  });
});
