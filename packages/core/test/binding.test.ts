import { describe, expect, it } from "vitest";
import { resolveBinding } from "../src/binding.ts";
import type { HyperdriveError } from "../src/index.ts";

const binding = (database: string) => ({
  connectionString: `postgres://u:p@h:5432/${database}`,
  host: "h",
  port: 5432,
  user: "u",
  password: "p",
  database,
});

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return { code: (error as HyperdriveError).code, message: (error as Error).message };
  }
  return undefined;
};

describe("resolveBinding", () => {
  it("uses HYPERDRIVE by default", () => {
    expect(resolveBinding({ HYPERDRIVE: binding("a"), OTHER: binding("b") }).name).toBe("HYPERDRIVE");
  });

  it("uses the only Hyperdrive binding when there is one", () => {
    expect(resolveBinding({ DB: binding("a"), KV: {} }).name).toBe("DB");
  });

  it("uses an explicit name or a binding object", () => {
    expect(resolveBinding({ HYPERDRIVE: binding("a"), B: binding("b") }, "B").binding.database).toBe("b");
    expect(resolveBinding({}, binding("c")).binding.database).toBe("c");
  });

  it("lists the Hyperdrive bindings env has when the name is missing", () => {
    const failure = codeOf(() => resolveBinding({ A: binding("a"), B: binding("b"), KV: {} }, "NOPE"));
    expect(failure?.code).toBe("HDK_BINDING_MISSING");
    expect(failure?.message).toContain("Hyperdrive bindings in env: A, B.");
  });

  it("refuses a value that is not a Hyperdrive binding, without printing it", () => {
    const failure = codeOf(() => resolveBinding({ HYPERDRIVE: "postgres://u:secret@h/db" }));
    expect(failure?.code).toBe("HDK_BINDING_INVALID");
    expect(failure?.message).not.toContain("secret");
    expect(failure?.message).toContain("env.HYPERDRIVE is a string, not a Hyperdrive binding.");
    const option = codeOf(() => resolveBinding({}, { host: "h" } as never));
    expect(option?.message).toContain("The `binding` option is an object.");
    expect(codeOf(() => resolveBinding(undefined))?.message).toContain("`env` is undefined;");
  });

  it("refuses to guess between several bindings", () => {
    expect(codeOf(() => resolveBinding({ A: binding("a"), B: binding("b") }))?.code).toBe("HDK_BINDING_AMBIGUOUS");
  });

  it("says so when env has no Hyperdrive binding at all", () => {
    const failure = codeOf(() => resolveBinding({}));
    expect(failure?.code).toBe("HDK_BINDING_MISSING");
    expect(failure?.message).toContain("env has no Hyperdrive bindings.");
  });

  it("shows a local URL of the driver's own engine when the binding is missing", () => {
    const fixOf = (driver?: "pg" | "mysql2") => {
      try {
        resolveBinding({}, undefined, driver);
      } catch (error) {
        return (error as HyperdriveError).fix;
      }
      return undefined;
    };
    expect(fixOf("mysql2")).toContain('"localConnectionString": "mysql://user:password@localhost:3306/db"');
    expect(fixOf("mysql2")).not.toContain("postgres://");
    expect(fixOf("pg")).toContain('"localConnectionString": "postgres://user:password@localhost:5432/db"');
    expect(fixOf("pg")).not.toContain("mysql://");
    // Without a driver (the README's table), both.
    expect(fixOf()).toContain("postgres://");
    expect(fixOf()).toContain("mysql://");
  });
});
