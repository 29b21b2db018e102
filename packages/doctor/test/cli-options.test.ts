/** Every documented option through the binary itself: argv in, exit code and output out. */

import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { refusedPort } from "@hyperdrive-kit/testing/servers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli } from "./support/cli.ts";

interface JsonFinding {
  status: string;
  code?: string;
  title: string;
  docs?: string;
  location?: { file: string; line?: number };
}
interface JsonSection {
  kind: string;
  title: string;
  findings: JsonFinding[];
}
const sections = (stdout: string): JsonSection[] => JSON.parse(stdout).sections;
const rows = (section: JsonSection | undefined) => (section?.findings ?? []).map((f) => [f.status, f.code ?? null]);

let empty: string;
let port: number;
beforeAll(async () => {
  // Not a Worker project: only the origin is checked.
  empty = await mkdtemp(join(tmpdir(), "hdk-doctor-options-"));
  port = await refusedPort();
});
afterAll(() => rm(empty, { recursive: true, force: true }));

describe("origin fields", () => {
  const fields = (flags: { host: string; port: string; user: string; password: string; scheme: string }) => [
    flags.host,
    "127.0.0.1",
    flags.port,
    String(port),
    "--database",
    "app",
    flags.user,
    "app",
    flags.password,
    "pw-in-field",
    flags.scheme,
    "postgres",
  ];

  it.each([
    {
      host: "--origin-host",
      port: "--origin-port",
      user: "--origin-user",
      password: "--origin-password",
      scheme: "--origin-scheme",
    },
    { host: "--host", port: "--port", user: "--user", password: "--password", scheme: "--scheme" },
  ])("%j are read: the fields pass and the preflight connects to them", async (names) => {
    const run = await cli(["doctor", ...fields(names), "--json"], empty);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(1); // the port refuses
    const [origin, connection] = sections(run.stdout);
    expect(origin?.findings).toEqual([
      expect.objectContaining({
        status: "pass",
        title: `wrangler accepts these fields: postgres://app:[redacted]@127.0.0.1:${port}/app`,
      }),
    ]);
    expect(connection?.findings.at(-1)).toMatchObject({ status: "fail", code: "HDK_CONFIG_CONNECTION_REFUSED" });
    expect(run.stdout).not.toContain("pw-in-field");
  });

  it("--origin-scheme mysql makes a MySQL origin", async () => {
    const run = await cli(
      [
        "doctor",
        "--host",
        "127.0.0.1",
        "--port",
        String(port),
        "--database",
        "app",
        "--user",
        "app",
        "--password",
        "pw",
        "--scheme",
        "mysql",
        "--json",
      ],
      empty,
    );
    expect(sections(run.stdout)[0]?.title).toBe(`mysql://app:[redacted]@127.0.0.1:${port}/app`);
  });

  it("an origin behind Cloudflare Access: both Access fields, no port (checked, not connected to)", async () => {
    const tunnel = [
      "--origin-host",
      "db.tunnel.example.com",
      "--database",
      "app",
      "--origin-user",
      "app",
      "--origin-password",
      "pw",
    ];
    const ok = await cli(
      ["doctor", ...tunnel, "--access-client-id", "id.access", "--access-client-secret", "s", "--json"],
      empty,
    );
    expect(ok.code).toBe(0);
    expect(sections(ok.stdout).map((s) => rows(s))).toEqual([[["pass", null]]]);
    const half = await cli(["doctor", ...tunnel, "--access-client-id", "id.access", "--json"], empty);
    expect(half.code).toBe(1);
    expect(sections(half.stdout)[0]?.findings[0]).toMatchObject({
      code: "HDK_DOCTOR_ORIGIN_ACCESS",
      title: "--access-client-secret is missing: an origin behind Cloudflare Access needs both",
    });
  });

  it.each([
    ["--url", "postgres://app:pw@127.0.0.1:5432/app", "--url conflicts with --origin-host: give one or the other"],
    [
      "--connection-string",
      "postgres://app:pw@127.0.0.1:5432/app",
      "--connection-string conflicts with --origin-host: give one or the other",
    ],
  ])("%s with a field that conflicts with it is a failed check", async (flag, url, title) => {
    const run = await cli(["doctor", flag, url, "--origin-host", "other.example.com", "--json"], empty);
    expect(run.code).toBe(1);
    expect(sections(run.stdout)[0]?.findings[0]).toMatchObject({
      status: "fail",
      code: "HDK_DOCTOR_ORIGIN_FIELDS",
      title,
    });
  });

  it("a bad --url says --url", async () => {
    const run = await cli(["doctor", "--url", "redis://h/0"], empty);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('--url is unsupported scheme "redis:"');
    expect(run.stdout).not.toContain("--connection-string is");
  });

  it("a scheme, a port and TLS settings wrangler refuses", async () => {
    const base = ["--host", "db.example.com", "--database", "app", "--user", "app", "--password", "pw"];
    const scheme = await cli(["doctor", ...base, "--port", "5432", "--scheme", "redis", "--json"], empty);
    expect(sections(scheme.stdout)[0]?.findings[0]?.title).toBe(
      '--origin-scheme "redis" is not postgres, postgresql or mysql',
    );
    const badPort = await cli(["doctor", ...base, "--port", "99999", "--json"], empty);
    expect(sections(badPort.stdout)[0]?.findings[0]?.title).toBe(
      '--origin-port "99999" is not a port number (1–65535)',
    );
    const tls = await cli(
      ["doctor", ...base, "--port", "5432", "--sslmode", "require", "--ca-certificate-id", "ca-1", "--json"],
      empty,
    );
    expect(tls.code).toBe(1);
    expect(sections(tls.stdout)[0]?.findings[0]).toMatchObject({ code: "HDK_DOCTOR_ORIGIN_TLS" });
    const mtls = await cli(["doctor", ...base, "--port", "5432", "--sslmode", "verify-full", "--json"], empty);
    expect(sections(mtls.stdout)[0]?.findings[0]?.title).toBe(
      "sslmode verify-full verifies the server certificate and needs a CA (--ca-certificate-id)",
    );
  });

  it("--timeout bounds each step", async () => {
    // A server that accepts and never answers: the TLS question waits for the bound.
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const { port: silentPort } = silent.address() as AddressInfo;
      const run = await cli(
        ["doctor", "--url", `postgres://app:pw@127.0.0.1:${silentPort}/app`, "--timeout", "300", "--json"],
        empty,
      );
      expect(run.code).toBe(1);
      const connection = sections(run.stdout).find((s) => s.kind === "connection");
      expect(connection?.findings.at(-1)).toMatchObject({
        code: "HDK_CONFIG_UNREACHABLE",
        title:
          "2010: connected, but no answer to the SSLRequest within 300 ms (a firewall or proxy that swallows traffic, or not a PostgreSQL server)",
      });
    } finally {
      silent.close();
    }
  });
});

describe("--json on usage errors", () => {
  it.each([
    [["doctor", "--json", "--nope"], /unknown option '--nope'/],
    [["doctor", "/no/such/dir", "--json"], /\/no\/such\/dir is not a directory/],
    [["doctor", "--json", "--timeout", "soon"], /expected a positive number of milliseconds/],
    [["doctor", "--json"], /has no wrangler.jsonc, wrangler.json or wrangler.toml/],
  ])("%j prints a JSON error on stdout and exits 2", async (args, message) => {
    const run = await cli(args, empty);
    expect(run.code).toBe(2);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({ version: 1, exitCode: 2, error: { code: "usage" } });
    expect(report.error.message).toMatch(message);
  });
});

describe("--config <file>", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "hdk-doctor-config-"));
    await mkdir(join(dir, "deploy"));
    await writeFile(
      join(dir, "wrangler.jsonc"),
      '{ "name": "w", "main": "src/index.ts", "compatibility_date": "2026-01-01", "compatibility_flags": ["nodejs_compat"], "hyperdrive": [{ "binding": "HYPERDRIVE", "id": "0123456789abcdef0123456789abcdef", "localConnectionString": "postgres://a:b@127.0.0.1:5432/d" }] }\n',
    );
    await writeFile(
      join(dir, "deploy", "wrangler.staging.toml"),
      'name = "w"\nmain = "../src/index.ts"\ncompatibility_date = "2026-01-01"\n\n[[hyperdrive]]\nbinding = "STAGING_DB"\nid = "0123456789abcdef0123456789abcdef"\n',
    );
    await mkdir(join(dir, "src"));
    await writeFile(join(dir, "src", "index.ts"), "export default { fetch: () => new Response('ok') };\n");
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it.each([["--config"], ["-c"]])(
    "%s picks the configuration file, relative to the current directory",
    async (flag) => {
      const run = await cli(["doctor", flag, "deploy/wrangler.staging.toml", "--json"], dir);
      expect(run.stderr).toBe("");
      const titles = sections(run.stdout).map((s) => s.title);
      expect(titles[0]).toBe("wrangler.staging.toml");
      expect(run.stdout).toContain("binding STAGING_DB");
      expect(run.stdout).not.toContain("binding HYPERDRIVE");
    },
  );

  it("a --config that does not exist is a usage error", async () => {
    const run = await cli(["doctor", "--config", "nope.toml"], dir);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/nope\.toml: no such file/);
  });
});

describe("a port that is not PostgreSQL or MySQL", () => {
  it.each([
    ["postgres", "HTTP/1.1 400 Bad Request\r\n\r\n", "PostgreSQL"],
    ["postgres", "SSH-2.0-OpenSSH_9.6\r\n", "PostgreSQL"],
    ["mysql", "HTTP/1.1 400 Bad Request\r\n\r\n", "MySQL"],
  ])(
    "%s URL, a server that answers %j: the fix says it is not the database, not to open a support ticket",
    async (scheme, banner, server) => {
      const other = createServer((socket) => {
        socket.on("error", () => {});
        socket.write(banner);
        socket.on("data", () => socket.end());
      });
      await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
      try {
        const { port: otherPort } = other.address() as AddressInfo;
        const run = await cli(
          ["doctor", "--url", `${scheme}://app:pw@127.0.0.1:${otherPort}/app`, "--timeout", "2000", "--json"],
          empty,
        );
        expect(run.code).toBe(1);
        const failed = sections(run.stdout)
          .flatMap((s) => s.findings)
          .filter((f) => f.status === "fail") as (JsonFinding & { fix?: string })[];
        expect(failed).toHaveLength(1);
        expect(failed[0]?.fix).not.toMatch(/support ticket|public DNS/);
        expect(failed[0]?.fix).toContain(
          `127.0.0.1:${otherPort} accepted the connection but did not answer as a ${server} server does`,
        );
      } finally {
        other.close();
      }
    },
  );
});

describe("the remaining options", () => {
  it("--mtls-certificate-id is taken with the other origin fields", async () => {
    const run = await cli(
      [
        "doctor",
        "--host",
        "db.tunnel.example.com",
        "--database",
        "app",
        "--user",
        "app",
        "--password",
        "pw",
        "--access-client-id",
        "id",
        "--access-client-secret",
        "s",
        "--mtls-certificate-id",
        "mtls-1",
        "--json",
      ],
      empty,
    );
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
  });

  it("--version prints the package's version", async () => {
    const run = await cli(["--version"], empty);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});
