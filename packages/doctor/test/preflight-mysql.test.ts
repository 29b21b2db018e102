/** The connection preflight against real MariaDB servers: with TLS, without, REQUIRE X509 and an unsupported plugin. */
import { type RunningServer, startMariadb } from "@hyperdrive-kit/testing/servers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Finding } from "../src/findings.ts";
import { preflight } from "../src/preflight/index.ts";
import { LOCAL_DEV } from "../src/rules.ts";
import { type CertFiles, makeCerts } from "./support/certs.ts";
import { ALL_CLEAR, check, connection, finding, outcomes, THROUGH_TLS, WITHOUT_TLS } from "./support/outcome.ts";
import { startTlsMariadb, type Users } from "./support/servers.ts";

let certs: CertFiles;
let tls: Users;
let plain: RunningServer;

beforeAll(async () => {
  certs = await makeCerts(["x509user"]);
  // One after the other: two mariadb-install-db runs at once crowd a 2-core machine.
  tls = await startTlsMariadb(certs);
  plain = await startMariadb();
});

afterAll(async () => {
  await Promise.all([tls?.server.stop(), plain?.stop()]);
  await certs?.remove();
});

describe("preflight: MariaDB", () => {
  it("passes every check on a TLS server, verifying its certificate against the CA (VERIFY_IDENTITY)", async () => {
    const report = await check(tls.url, { ca: await certs.read(certs.ca), sslmode: "VERIFY_IDENTITY" });
    expect(outcomes(connection(report))).toEqual(ALL_CLEAR);
    expect(finding(report, "preflight.tls").title).toMatch(/^2012: .*MariaDB.* offers TLS \(CLIENT_SSL capability\)$/);
    expect(finding(report, "preflight.auth-method").title).toBe(
      "server default authentication plugin: mysql_native_password",
    );
    expect(report.exitCode).toBe(0);
  });

  it("fails 2012 on a server without TLS and still checks the rest in plain text", async () => {
    const report = await check(plain.url);
    expect(outcomes(connection(report))).toEqual(WITHOUT_TLS);
    expect(finding(report, "preflight.tls").title).toMatch(/does not offer TLS \(no CLIENT_SSL capability/);
    expect(report.exitCode).toBe(1);
  });

  it("fails an account with REQUIRE X509 without a client certificate, and passes with one", async () => {
    const without = await check(tls.as.x509user as string);
    expect(outcomes(connection(without))).toEqual([
      ...THROUGH_TLS,
      "fail preflight.credentials HDK_CONFIG_INVALID_CREDENTIALS",
    ]);
    // MariaDB answers 1045 whether the password or the certificate is missing: the finding names both causes.
    expect(finding(without, "preflight.credentials").title).toMatch(
      /^2013: Access denied for user 'x509user'.*\(errno 1045\); if the account REQUIREs X509.*pass --client-cert and --client-key$/,
    );
    const client = certs.client("x509user");
    const withCert = await check(tls.as.x509user as string, {
      clientCert: await certs.read(client.cert),
      clientKey: await certs.read(client.key),
    });
    expect(outcomes(connection(withCert))).toEqual(ALL_CLEAR);
    expect(withCert.exitCode).toBe(0);
  });

  it("fails 2013 for an account whose authentication plugin Hyperdrive does not speak (ed25519)", async () => {
    const report = await check(tls.as.eduser as string);
    expect(outcomes(connection(report))).toEqual([
      ...THROUGH_TLS,
      "fail preflight.credentials HDK_CONFIG_INVALID_CREDENTIALS",
    ]);
    expect(finding(report, "preflight.credentials").title).toBe(
      "2013: the account uses the client_ed25519 authentication plugin; Hyperdrive supports caching_sha2_password and mysql_native_password only",
    );
  });

  it("fails 2013 on a wrong password and 2014 on a database the user cannot reach", async () => {
    const wrong = new URL(tls.url);
    wrong.password = "not-the-password-4711";
    const bad = await check(wrong.toString());
    expect(outcomes(connection(bad)).at(-1)).toBe("fail preflight.credentials HDK_CONFIG_INVALID_CREDENTIALS");
    expect(JSON.stringify(bad)).not.toContain("not-the-password-4711");

    const missing = new URL(tls.url);
    missing.pathname = "/no_such_database";
    const report = await check(missing.toString());
    expect(outcomes(connection(report)).slice(-2)).toEqual([
      "pass preflight.credentials",
      "fail preflight.database HDK_CONFIG_DATABASE_NOT_FOUND",
    ]);
    expect(finding(report, "preflight.database").title).toMatch(
      /^2014: Access denied for user 'hdk'@'%' to database 'no_such_database' \(errno 1044\)$/,
    );
    // A MySQL origin gets the catalogue's MySQL advice: 1044 is also a database that exists but is not granted.
    expect(finding(report, "preflight.database").fix).toContain("GRANT ALL ON <database>.* TO <user>");
  });

  it("fails 2016 for a user with SELECT only", async () => {
    const report = await check(tls.as.reader as string);
    expect(outcomes(connection(report)).slice(-2)).toEqual([
      "pass preflight.test-query",
      "fail preflight.permissions HDK_CONFIG_TEST_QUERY_FAILED",
    ]);
    expect(finding(report, "preflight.permissions").title).toBe(
      '2016: reader has no INSERT, UPDATE, DELETE or CREATE privilege on "hdk"',
    );
  });
});

describe("--connect: fixes for a local MariaDB (wrangler dev connects straight to it)", () => {
  const ANY_SOURCE = "localConnectionString or CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_<BINDING>";
  const last = async (url: string) =>
    (await preflight(url, { target: "local", timeoutMs: 15_000 })).findings.at(-1) as Finding;

  it("a wrong password: fix it where the string is set, or create the user", async () => {
    const wrong = new URL(plain.url);
    wrong.password = "not-the-password-4711";
    const found = await last(wrong.toString());
    expect(found).toMatchObject({ code: "HDK_CONFIG_INVALID_CREDENTIALS", docs: LOCAL_DEV });
    expect(found.fix).toBe(
      `Fix the user or password in ${ANY_SOURCE} (the password is case-sensitive), or create the user on the local server (\`CREATE USER '${wrong.username}'@'%' IDENTIFIED BY '…'\`).`,
    );
    expect(JSON.stringify(found)).not.toContain("not-the-password-4711");
  });

  it("a missing database: create it and grant it, or fix its name", async () => {
    const missing = new URL(plain.url);
    missing.pathname = "/no_such_database";
    const found = await last(missing.toString());
    expect(found).toMatchObject({ code: "HDK_CONFIG_DATABASE_NOT_FOUND", docs: LOCAL_DEV });
    expect(found.fix).toBe(
      `Create the database on the local server (\`CREATE DATABASE no_such_database\`) and grant it to ${missing.username} (\`GRANT ALL ON no_such_database.* TO '${missing.username}'@'%'\`: a database the user has no rights on is refused the same way, 1044), or fix the database name in ${ANY_SOURCE}.`,
    );
  });
});
