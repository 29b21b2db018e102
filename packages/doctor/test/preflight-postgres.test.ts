/** The connection preflight against real PostgreSQL servers: with TLS, client certificates, without TLS, and faults. */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { catalog } from "@hyperdrive-kit/core";
import { type FaultProxy, startFaultProxy } from "@hyperdrive-kit/testing/proxy";
import { type RunningServer, refusedPort, startPostgres } from "@hyperdrive-kit/testing/servers";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { runDoctor } from "../src/doctor.ts";
import type { Finding } from "../src/findings.ts";
import { preflight } from "../src/preflight/index.ts";
import { renderJson, renderText } from "../src/report.ts";
import { LOCAL_DEV } from "../src/rules.ts";
import { type CertFiles, makeCerts } from "./support/certs.ts";
import { cli } from "./support/cli.ts";
import {
  ALL_CLEAR,
  check,
  connection,
  finding,
  LOGGED_IN,
  outcomes,
  REACHED_LOOPBACK,
  THROUGH_TLS,
  WITHOUT_TLS,
} from "./support/outcome.ts";
import { startTlsPostgres, type Users } from "./support/servers.ts";

let certs: CertFiles;
let tls: Users;
let plain: RunningServer;
let blackhole: FaultProxy;
let closedPort: number;

beforeAll(async () => {
  certs = await makeCerts(["certuser"]);
  [tls, plain] = await Promise.all([startTlsPostgres(certs), startPostgres()]);
  closedPort = await refusedPort();
  blackhole = await startFaultProxy({ target: { host: "127.0.0.1", port: closedPort }, mode: { kind: "blackhole" } });
});

afterAll(async () => {
  await Promise.all([tls?.server.stop(), plain?.stop(), blackhole?.close()]);
  await certs?.remove();
});

const edit = (base: string, change: (url: URL) => void) => {
  const url = new URL(base);
  change(url);
  return url.toString();
};

describe("preflight: PostgreSQL", () => {
  it("passes every check on a TLS server; a loopback address is a production warning, not a failure", async () => {
    const report = await check(tls.url);
    expect(outcomes(connection(report))).toEqual(ALL_CLEAR);
    expect(report.exitCode).toBe(0);
    expect(finding(report, "preflight.auth-method").title).toBe("authentication method: SCRAM-SHA-256");
    expect(finding(report, "preflight.address").title).toMatch(
      /127\.0\.0\.1 is a loopback address: .*fails in production/,
    );
    // Every network check says how long it took.
    for (const f of connection(report)?.findings ?? []) expect(f.durationMs).toBeGreaterThanOrEqual(0);
  });

  it("verifies the server certificate against the given CA (verify-full)", async () => {
    const report = await check(tls.url, { ca: await certs.read(certs.ca), sslmode: "verify-full" });
    expect(outcomes(connection(report))).toEqual(ALL_CLEAR);
    expect(finding(report, "preflight.tls-handshake").title).toMatch(
      /server certificate verified \(verify-full against the given CA\)/,
    );
  });

  it("fails the handshake against a CA that did not sign the server certificate", async () => {
    const report = await check(tls.url, { ca: await certs.read(certs.otherCa), sslmode: "verify-full" });
    expect(outcomes(connection(report))).toEqual([
      ...REACHED_LOOPBACK,
      "pass preflight.tls",
      "fail preflight.tls-handshake HDK_CONFIG_CERT_VALIDATION_FAILED",
    ]);
    expect(finding(report, "preflight.tls-handshake").title).toMatch(
      /^TLS handshake failed: cert validation failed: .*SELF_SIGNED_CERT_IN_CHAIN/,
    );
    expect(report.exitCode).toBe(1);
  });

  it("reports a client certificate required by clientcert=verify-full, and passes with one", async () => {
    const without = await check(tls.as.certuser as string);
    expect(outcomes(connection(without))).toEqual([
      ...THROUGH_TLS.slice(0, -1),
      "fail preflight.auth-method HDK_CONFIG_CLIENT_CERT_REQUIRED",
    ]);
    expect(finding(without, "preflight.auth-method").title).toBe(
      "Server return error and closed connection: connection requires a valid client certificate (SQLSTATE 28000)",
    );
    expect(without.exitCode).toBe(1);

    const client = certs.client("certuser");
    const withCert = await check(tls.as.certuser as string, {
      clientCert: await certs.read(client.cert),
      clientKey: await certs.read(client.key),
    });
    expect(outcomes(connection(withCert))).toEqual(ALL_CLEAR);
    expect(withCert.exitCode).toBe(0);
  });

  it("fails 2012 on a server without TLS and still checks the rest in plain text", async () => {
    const report = await check(plain.url);
    expect(outcomes(connection(report))).toEqual(WITHOUT_TLS);
    expect(finding(report, "preflight.tls").hyperdriveCode).toBe(2012);
    expect(report.exitCode).toBe(1);
  });

  it("needs no TLS for a local connection string (as wrangler dev connects)", async () => {
    const section = await preflight(plain.url, { target: "local", timeoutMs: 15_000 });
    expect(outcomes(section)).toEqual([
      "pass preflight.resolve",
      "pass preflight.tcp",
      "pass preflight.auth-method",
      ...LOGGED_IN,
    ]);
  });

  it("--connect checks each binding's local connection string the way wrangler dev connects", async () => {
    const dir = await mkdtemp(join(tmpdir(), "hdk-doctor-connect-"));
    try {
      await writeFile(
        join(dir, "wrangler.jsonc"),
        JSON.stringify({
          name: "connect",
          compatibility_date: "2025-09-01",
          compatibility_flags: ["nodejs_compat"],
          hyperdrive: [
            { binding: "HYPERDRIVE", id: "a76a99bc342644deb02c38d66082262a", localConnectionString: plain.url },
          ],
        }),
      );
      const report = await runDoctor({ dir, connect: true, timeoutMs: 15_000 });
      const local = connection(report);
      expect(local?.title).toMatch(/\(local, as wrangler dev connects\) · binding HYPERDRIVE, localConnectionString$/);
      expect(outcomes(local).every((line) => line.startsWith("pass"))).toBe(true);
      expect(report.exitCode).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("fails 2013 on a wrong password, without ever printing it", async () => {
    const wrong = edit(tls.url, (url) => {
      url.password = "not-the-password-4711";
    });
    const report = await check(wrong);
    expect(outcomes(connection(report))).toEqual([
      ...THROUGH_TLS,
      "fail preflight.credentials HDK_CONFIG_INVALID_CREDENTIALS",
    ]);
    expect(finding(report, "preflight.credentials").title).toBe(
      '2013: password authentication failed for user "postgres" (SQLSTATE 28P01)',
    );
    expect(report.exitCode).toBe(1);
    for (const text of [renderText(report, false), renderJson(report)]) {
      expect(text).not.toContain("not-the-password-4711");
      expect(text).not.toContain(new URL(tls.url).password);
    }
  });

  it("fails 2014 on a database that does not exist", async () => {
    const report = await check(
      edit(tls.url, (url) => {
        url.pathname = "/no_such_database";
      }),
    );
    expect(outcomes(connection(report)).slice(-2)).toEqual([
      "pass preflight.credentials",
      "fail preflight.database HDK_CONFIG_DATABASE_NOT_FOUND",
    ]);
    expect(finding(report, "preflight.database").title).toBe(
      '2014: database "no_such_database" does not exist (SQLSTATE 3D000)',
    );
  });

  it("fails 2016 for a user that can read but not write", async () => {
    const report = await check(tls.as.reader as string);
    expect(outcomes(connection(report)).slice(-2)).toEqual([
      "pass preflight.test-query",
      "fail preflight.permissions HDK_CONFIG_TEST_QUERY_FAILED",
    ]);
    expect(finding(report, "preflight.permissions").title).toBe(
      "2016: reader can read but not write: transactions are read-only (default_transaction_read_only = on); reader has no INSERT, UPDATE or DELETE on any table and no CREATE on any schema",
    );
  });

  it("fails 2011 on a closed port", async () => {
    const report = await check(`postgres://u:secret-pw@127.0.0.1:${closedPort}/db`);
    expect(outcomes(connection(report))).toEqual([
      "pass preflight.resolve",
      "warn preflight.address HDK_CONFIG_PRIVATE_ADDRESS",
      "fail preflight.tcp HDK_CONFIG_CONNECTION_REFUSED",
    ]);
    // Hyperdrive reaching an origin: the catalogue's firewall advice fits.
    expect(finding(report, "preflight.tcp").fix).toBe(catalog.HDK_CONFIG_CONNECTION_REFUSED.fix);
    expect(report.exitCode).toBe(1);
  });

  it("fails 2010 within its bound when the server accepts and never answers (blackhole)", async () => {
    const report = await check(`postgres://u:secret-pw@127.0.0.1:${blackhole.port}/db`, { timeoutMs: 1_000 });
    expect(outcomes(connection(report))).toEqual([...REACHED_LOOPBACK, "fail preflight.tls HDK_CONFIG_UNREACHABLE"]);
    expect(finding(report, "preflight.tls").title).toMatch(
      /^2010: connected, but no answer to the SSLRequest within 1000 ms/,
    );
    await vi.waitFor(() => expect(blackhole.connections).toBe(0)); // the doctor closed its socket
  });

  it("fails 2008 on a name under .invalid", async () => {
    const report = await check("postgres://u:secret-pw@db.doctor-test.invalid:5432/db");
    expect(outcomes(connection(report))).toEqual(["fail preflight.resolve HDK_CONFIG_BAD_HOSTNAME"]);
    expect(finding(report, "preflight.resolve").title).toMatch(/^2008: db\.doctor-test\.invalid does not resolve \(/);
    expect(finding(report, "preflight.resolve").hyperdriveCode).toBe(2008);
  });
});

describe("--connect: fixes for a local database (wrangler dev connects straight to it)", () => {
  const ANY_SOURCE = "localConnectionString or CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_<BINDING>";
  const local = (url: string, timeoutMs = 15_000) => preflight(url, { target: "local", timeoutMs });
  const last = (findings: Finding[]) => findings.at(-1) as Finding;
  /** Nothing of Hyperdrive's origin advice, nothing secret. */
  const fitsLocal = (found: Finding, secret?: string) => {
    expect(found.docs).toBe(LOCAL_DEV);
    expect(found.fix).not.toMatch(/\bHyperdrive\b|firewall|public Internet|support ticket/);
    if (secret) expect(JSON.stringify(found)).not.toContain(secret);
  };

  const project = async (files: Record<string, string>, run: (dir: string) => Promise<void>) => {
    const dir = await mkdtemp(join(tmpdir(), "hdk-doctor-local-"));
    try {
      for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
      await run(dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };
  const wrangler = (binding: Record<string, string>) =>
    JSON.stringify({
      name: "local",
      compatibility_date: "2025-09-01",
      compatibility_flags: ["nodejs_compat"],
      hyperdrive: [{ binding: "HYPERDRIVE", id: "a76a99bc342644deb02c38d66082262a", ...binding }],
    });

  it("a closed port: start the database or fix the host/port where the string is set, no firewall advice", async () => {
    const url = `postgres://app:pw-closed-1@127.0.0.1:${closedPort}/app`;
    await project({ "wrangler.jsonc": wrangler({ localConnectionString: url }) }, async (dir) => {
      const report = await runDoctor({ dir, connect: true, timeoutMs: 15_000 });
      const section = connection(report);
      expect(section?.title).toMatch(/\(local, as wrangler dev connects\)/);
      expect(outcomes(section)).toEqual(["pass preflight.resolve", "fail preflight.tcp HDK_CONFIG_CONNECTION_REFUSED"]);
      const tcp = finding(report, "preflight.tcp");
      expect(tcp.fix).toBe(
        `Nothing accepts connections at 127.0.0.1:${closedPort}: start the database, or fix the host/port in the localConnectionString of binding HYPERDRIVE in wrangler.jsonc.`,
      );
      fitsLocal(tcp, "pw-closed-1");
      expect(renderText(report, false)).not.toContain("firewall");
    });
    // The variable in .env wins over localConnectionString: the fix names it, not the configuration.
    await project(
      {
        "wrangler.jsonc": wrangler({}),
        ".env": `CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE=${url}\n`,
      },
      async (dir) => {
        const report = await runDoctor({ dir, connect: true, timeoutMs: 15_000 });
        expect(finding(report, "preflight.tcp").fix).toBe(
          `Nothing accepts connections at 127.0.0.1:${closedPort}: start the database, or fix the host/port in CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE in .env.`,
        );
      },
    );
  });

  it("a wrong password: fix it where the string is set, or create the user", async () => {
    const wrong = edit(plain.url, (url) => {
      url.password = "not-the-password-4711";
    });
    const found = last((await local(wrong)).findings);
    expect(found).toMatchObject({ check: "preflight.credentials", code: "HDK_CONFIG_INVALID_CREDENTIALS" });
    expect(found.fix).toBe(
      `Fix the user or password in ${ANY_SOURCE} (the password is case-sensitive), or create the user on the local server (\`CREATE ROLE postgres LOGIN PASSWORD '…'\`).`,
    );
    fitsLocal(found, "not-the-password-4711");
  });

  it("a missing database: create it, or fix its name", async () => {
    const missing = edit(plain.url, (url) => {
      url.pathname = "/no_such_database";
    });
    const found = last((await local(missing)).findings);
    expect(found).toMatchObject({ check: "preflight.database", code: "HDK_CONFIG_DATABASE_NOT_FOUND" });
    expect(found.fix).toBe(
      `Create the database on the local server (\`createdb no_such_database\`, or \`CREATE DATABASE "no_such_database"\`), or fix the database name in ${ANY_SOURCE}.`,
    );
    fitsLocal(found, new URL(plain.url).password);
  });

  it("a port that accepts and never answers: not your PostgreSQL server, or a stalled one", async () => {
    const section = await local(`postgres://u:secret-pw@127.0.0.1:${blackhole.port}/db`, 1_000);
    const found = last(section.findings);
    expect(found).toMatchObject({ check: "preflight.auth-method", code: "HDK_CONFIG_UNREACHABLE" });
    expect(found.fix).toBe(
      `Something accepts connections at 127.0.0.1:${blackhole.port} but does not answer as PostgreSQL does: check that 127.0.0.1:${blackhole.port} is your PostgreSQL server (not another service on that port) and read its log; if it is the wrong address, fix the host/port in ${ANY_SOURCE}. A stalled server (a full disk, a lock) also answers nothing.`,
    );
    fitsLocal(found);
  });

  it("a user that cannot write: grant it, or use another account", async () => {
    const found = last((await local(tls.as.reader as string)).findings);
    expect(found).toMatchObject({ check: "preflight.permissions", code: "HDK_CONFIG_TEST_QUERY_FAILED" });
    expect(found.fix).toMatch(/^Give reader read and write rights on the local database \(`GRANT SELECT, INSERT/);
    fitsLocal(found);
  });

  it("a name that does not resolve: fix the host, or start what provides it", async () => {
    const found = last((await local("postgres://u:secret-pw@db.doctor-test.invalid:5432/db")).findings);
    expect(found.code).toBe("HDK_CONFIG_BAD_HOSTNAME");
    expect(found.fix).toBe(
      `db.doctor-test.invalid does not resolve on this machine: fix the host in ${ANY_SOURCE} (a local database is usually 127.0.0.1 or localhost), or start the container or service that provides the name.`,
    );
    fitsLocal(found);
  });
});

describe("the TLS and --connect options through the binary (argv in, exit code and output out)", () => {
  const sectionsOf = (stdout: string) =>
    (JSON.parse(stdout) as { sections: { kind: string; title: string; findings: Finding[] }[] }).sections;
  const failures = (stdout: string) =>
    sectionsOf(stdout)
      .flatMap((s) => s.findings)
      .filter((f) => f.status === "fail")
      .map((f) => f.code);

  it("--ca with --sslmode verify-full verifies the certificate; another CA fails it", async () => {
    const ok = await cli(
      ["doctor", "--url", tls.url, "--sslmode", "verify-full", "--ca", certs.ca, "--json"],
      certs.dir,
    );
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    const wrong = await cli(
      ["doctor", "--url", tls.url, "--sslmode", "verify-full", "--ca", certs.otherCa, "--json"],
      certs.dir,
    );
    expect(wrong.code).toBe(1);
    expect(failures(wrong.stdout)).toEqual(["HDK_CONFIG_CERT_VALIDATION_FAILED"]);
  });

  it("--client-cert and --client-key log in an account that requires a certificate", async () => {
    const client = certs.client("certuser");
    const url = tls.as.certuser as string;
    const without = await cli(["doctor", "--url", url, "--json"], certs.dir);
    expect(failures(without.stdout)).toEqual(["HDK_CONFIG_CLIENT_CERT_REQUIRED"]);
    const withCert = await cli(
      ["doctor", "--url", url, "--client-cert", client.cert, "--client-key", client.key, "--json"],
      certs.dir,
    );
    expect(withCert.code).toBe(0);
  });

  it("--connect connects to each binding's local string; a project whose database is down exits 1", async () => {
    const dir = await mkdtemp(join(tmpdir(), "hdk-doctor-connect-cli-"));
    try {
      const config = (url: string) =>
        JSON.stringify({
          name: "connect",
          compatibility_date: "2025-09-01",
          compatibility_flags: ["nodejs_compat"],
          hyperdrive: [{ binding: "HYPERDRIVE", id: "a76a99bc342644deb02c38d66082262a", localConnectionString: url }],
        });
      await writeFile(join(dir, "wrangler.jsonc"), config(plain.url));
      const up = await cli(["doctor", "--connect", "--json"], dir);
      expect(up.code).toBe(0);
      expect(sectionsOf(up.stdout).map((s) => s.kind)).toContain("connection");
      await writeFile(join(dir, "wrangler.jsonc"), config(`postgres://app:pw@127.0.0.1:${closedPort}/app`));
      const down = await cli(["doctor", "--connect", "--json"], dir);
      expect(down.code).toBe(1);
      expect(failures(down.stdout)).toEqual(["HDK_CONFIG_CONNECTION_REFUSED"]);
      // Without --connect, nothing is connected to.
      const lintOnly = await cli(["doctor", "--json"], dir);
      expect(sectionsOf(lintOnly.stdout).map((s) => s.kind)).not.toContain("connection");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
