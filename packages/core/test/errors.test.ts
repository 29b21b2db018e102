import { describe, expect, it } from "vitest";
import { errorCodes } from "../src/catalog.ts";
import { catalog, HyperdriveError, isHyperdriveError } from "../src/index.ts";
import { leaks, redact } from "../src/redact.ts";

const password = "s3cr3t-Pa55word";
const connectionString = `postgres://user:${password}@abc.hyperdrive.local:5432/db?sslmode=disable`;

describe("HyperdriveError", () => {
  it("carries the catalogue entry", () => {
    const error = new HyperdriveError("HDK_HYPERDRIVE_POOL_EXHAUSTED", { driver: "postgres" });
    expect(error).toMatchObject({
      name: "HyperdriveError",
      code: "HDK_HYPERDRIVE_POOL_EXHAUSTED",
      category: "hyperdrive",
      retryable: true,
      driver: "postgres",
      fix: catalog.HDK_HYPERDRIVE_POOL_EXHAUSTED.fix,
      docs: catalog.HDK_HYPERDRIVE_POOL_EXHAUSTED.docs,
    });
    expect(error.message).toMatch(/^\[hyperdrive-kit\] \[postgres\] HDK_HYPERDRIVE_POOL_EXHAUSTED: /);
    expect(isHyperdriveError(error)).toBe(true);
    expect(isHyperdriveError(new Error("x"))).toBe(false);
  });

  it("never shows the password or the connection string, in any output", () => {
    const cause = Object.assign(new TypeError(`Invalid URL: ${connectionString}`), {
      input: connectionString,
      config: { password },
    });
    const error = new HyperdriveError("HDK_CONNECT_REFUSED", {
      context: `while connecting to ${connectionString} with password=${password}`,
      cause,
      secrets: [password, connectionString],
    });
    const outputs = [
      error.message,
      String(error),
      error.stack ?? "",
      JSON.stringify(error),
      String(error.cause),
      JSON.stringify((error.cause as Record<string, unknown>).input),
      JSON.stringify((error.cause as Record<string, unknown>).config),
      (error.cause as Error).stack ?? "",
    ];
    for (const output of outputs) {
      expect(output).not.toContain(password);
      expect(leaks(output, [password, connectionString])).toBe(false);
    }
    expect((error.cause as Error).name).toBe("TypeError");
  });

  it("gives its code and this occurrence's fix as `meta`, for ORMs that copy only code, message and meta", () => {
    const error = new HyperdriveError("HDK_CONNECT_REFUSED", { driver: "pg", fix: "Start the database." });
    expect(error.meta).toEqual({
      code: "HDK_CONNECT_REFUSED",
      category: "connection",
      retryable: true,
      fix: "Start the database.",
      docs: catalog.HDK_CONNECT_REFUSED.docs,
    });
    // A getter, not an own field: serializing the error and copying its own fields stay as they were.
    expect(Object.keys(error)).not.toContain("meta");
    expect(JSON.parse(JSON.stringify(error))).not.toHaveProperty("meta");
  });

  it("keeps a harmless cause as it is", () => {
    const cause = new Error("Connection terminated");
    expect(new HyperdriveError("HDK_PG_CONNECTION_TERMINATED", { cause }).cause).toBe(cause);
  });

  it("has a complete catalogue entry for every code", () => {
    for (const code of errorCodes) {
      const entry = catalog[code];
      expect(entry.details.length, code).toBeGreaterThan(5);
      expect(entry.fix.length, code).toBeGreaterThan(5);
      expect(entry.docs, code).toMatch(/^https:\/\//);
    }
  });
});

describe("redact", () => {
  it("removes URL credentials, password pairs and known secrets", () => {
    expect(redact("mysql://hdk:pw@127.0.0.1:3306/db")).toBe("mysql://hdk:[redacted]@127.0.0.1:3306/db");
    expect(redact("password=hunter2 user=x")).toBe("password=[redacted] user=x");
    expect(redact(`token ${password} here`, [password])).toBe("token [redacted] here");
  });

  it("keeps MySQL's words about whether a password was sent: redacts secrets, not the words around them", () => {
    for (const sent of ["YES", "NO"]) {
      const message = `Access denied for user 'hdk'@'127.0.0.1' (using password: ${sent})`;
      expect(redact(message, [password])).toBe(message);
    }
    // A password that happens to be YES is still a password elsewhere.
    expect(redact("password: YES, user: x")).toBe("password: [redacted], user: x");
  });

  it("says what a raw client reused across requests does locally today, per driver (wrangler 4.164)", () => {
    const { details } = catalog.HDK_CROSS_REQUEST_IO;
    expect(details).not.toContain("hangs until");
    for (const driver of ["Postgres.js", "mysql2", "node-postgres", "raw mysql"]) expect(details).toContain(driver);
  });
});
