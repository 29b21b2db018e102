/** The origin check: the field combinations wrangler and seed 003 refuse, before any connection. */
import { describe, expect, it } from "vitest";
import { checkOrigin, type OriginFields } from "../src/origin.ts";

const rows = (fields: OriginFields) =>
  checkOrigin(fields).section.findings.map((f) => [f.status, f.code ?? null, f.title]);

const BASE = { host: "db.example.com", port: "5432", database: "app", user: "app", password: "s3cret-pw" };

describe("origin check", () => {
  it("accepts complete fields and hands a URL to the preflight", () => {
    const checked = checkOrigin(BASE);
    expect(checked.section.findings.map((f) => f.status)).toEqual(["pass"]);
    expect(checked.url).toMatchObject({ engine: "postgres", host: "db.example.com", port: 5432, database: "app" });
    expect(JSON.stringify(checked.section)).not.toContain("s3cret-pw");
  });

  it("names the missing fields and a connection string without a password", () => {
    expect(rows({ host: "db.example.com", port: "5432" })).toEqual([
      ["fail", "HDK_DOCTOR_ORIGIN_FIELDS", "missing --database, --origin-user, --origin-password"],
    ]);
    expect(rows({ connectionString: "postgres://app@db.example.com:5432/app" })).toEqual([
      ["fail", "HDK_DOCTOR_ORIGIN_FIELDS", "--connection-string has no password"],
    ]);
    expect(rows({ connectionString: "redis://db.example.com/0" })).toEqual([
      [
        "fail",
        "HDK_DOCTOR_ORIGIN_FIELDS",
        '--connection-string is unsupported scheme "redis:" (expected postgres://, postgresql:// or mysql://)',
      ],
    ]);
    expect(rows({ ...BASE, port: undefined })).toEqual([
      [
        "fail",
        "HDK_DOCTOR_ORIGIN_FIELDS",
        "--origin-port is missing (only an origin behind Cloudflare Access omits it)",
      ],
    ]);
  });

  it("Tunnel: both Access fields or neither, and no port", () => {
    const tunnel = { host: "db.tunnel.example.com", database: "app", user: "app", password: "pw" };
    const ok = checkOrigin({ ...tunnel, accessClientId: "id.access", accessClientSecret: "secret" });
    expect(ok.section.findings.map((f) => [f.status, f.check])).toEqual([["pass", "origin.access"]]);
    expect(ok.url).toBeUndefined(); // reached through Access, not directly: no preflight from here
    expect(rows({ ...tunnel, accessClientId: "id.access" })).toEqual([
      [
        "fail",
        "HDK_DOCTOR_ORIGIN_ACCESS",
        "--access-client-secret is missing: an origin behind Cloudflare Access needs both",
      ],
    ]);
    expect(rows({ ...tunnel, port: "5432", accessClientId: "id.access", accessClientSecret: "secret" })).toEqual([
      [
        "fail",
        "HDK_DOCTOR_ORIGIN_ACCESS",
        "--origin-port is given for an origin behind Cloudflare Access: omit it, the tunnel's service configuration picks the port",
      ],
    ]);
  });

  it("TLS: a CA is not allowed with require and required with verify-ca / verify-full", () => {
    expect(rows({ ...BASE, caCertificateId: "ca-id" })).toEqual([
      [
        "fail",
        "HDK_DOCTOR_ORIGIN_TLS",
        "a CA is given without an sslmode, which defaults to require: add --sslmode=verify-full",
      ],
    ]);
    expect(rows({ ...BASE, sslmode: "require", caCertificateId: "ca-id" })).toEqual([
      [
        "fail",
        "HDK_DOCTOR_ORIGIN_TLS",
        "a CA is not allowed with sslmode require, which does not verify the certificate: use verify-full",
      ],
    ]);
    expect(rows({ ...BASE, sslmode: "verify-full" })).toEqual([
      [
        "fail",
        "HDK_DOCTOR_ORIGIN_TLS",
        "sslmode verify-full verifies the server certificate and needs a CA (--ca-certificate-id)",
      ],
    ]);
    expect(rows({ ...BASE, sslmode: "verify-ca", caFile: true }).map((row) => row[0])).toEqual(["pass"]);
    expect(rows({ ...BASE, scheme: "mysql", port: "3306", sslmode: "disable" })).toEqual([
      ["fail", "HDK_DOCTOR_ORIGIN_TLS", 'sslmode "disable" is not one of REQUIRED, VERIFY_CA, VERIFY_IDENTITY (MySQL)'],
    ]);
  });

  it("warns about a pooler in front of the database", () => {
    expect(rows({ ...BASE, host: "ep-cool-1234-pooler.us-east-2.aws.neon.tech" })[0]).toEqual([
      "warn",
      "HDK_DOCTOR_POOLER",
      '"ep-cool-1234-pooler.us-east-2.aws.neon.tech" is a pooler host name: Hyperdrive should connect to the database itself',
    ]);
    expect(rows({ ...BASE, port: "6543" })[0]?.[1]).toBe("HDK_DOCTOR_POOLER");
  });

  it("says to percent-encode a `#` in the password instead of showing the part after it as the host", () => {
    // new URL() takes `#…` for a fragment: "pa@ss#w0rd" would read as password "pa", host "ss", no database.
    const found = checkOrigin({ connectionString: "postgres://app:pa@ss#w0rd@db.example.com:5432/app" }).section;
    expect(found.findings.map((f) => [f.status, f.code, f.title])).toEqual([
      [
        "fail",
        "HDK_DOCTOR_ORIGIN_FIELDS",
        "--connection-string is not a database URL: a `#` ends it (a fragment); percent-encode a `#` in the user or password as %23",
      ],
    ]);
    expect(JSON.stringify(found)).not.toMatch(/w0rd|\bss\b|pa@/);
  });

  it("reports a connection string's pooler and TLS mistakes along with its missing password", () => {
    expect(rows({ connectionString: "postgres://app@db.example.com:6543/app?sslmode=verify-full" })).toEqual([
      ["fail", "HDK_DOCTOR_ORIGIN_FIELDS", "--connection-string has no password"],
      [
        "fail",
        "HDK_DOCTOR_ORIGIN_TLS",
        "sslmode verify-full verifies the server certificate and needs a CA (--ca-certificate-id)",
      ],
      [
        "warn",
        "HDK_DOCTOR_POOLER",
        "port 6543 is Supabase's transaction pooler: Hyperdrive should connect to the database itself",
      ],
    ]);
    // The engine comes from the scheme even when the string is incomplete: MySQL's sslmode names.
    expect(rows({ connectionString: "mysql://app@db.example.com:3306/app", sslmode: "VERIFY_IDENTITY" })).toEqual([
      ["fail", "HDK_DOCTOR_ORIGIN_FIELDS", "--connection-string has no password"],
      [
        "fail",
        "HDK_DOCTOR_ORIGIN_TLS",
        "sslmode VERIFY_IDENTITY verifies the server certificate and needs a CA (--ca-certificate-id)",
      ],
    ]);
  });
});
