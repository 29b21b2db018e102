import { describe, expect, it } from "vitest";
import { allowUnsafeOption, COMMON_OPTION_KEYS, refuseUnknownOptions, teardownOption } from "../src/options.ts";

const known = [...COMMON_OPTION_KEYS, "client", "pool"];

describe("refuseUnknownOptions", () => {
  it("lets every known option through", () => {
    expect(() => refuseUnknownOptions(Object.fromEntries(known.map((key) => [key, undefined])), known)).not.toThrow();
  });

  it.each([
    ["bindng", "binding"],
    ["teardownTimeout", "teardownTimeoutMs"],
    ["connectTimeoutMS", "connectTimeoutMs"],
    ["clients", "client"],
  ])("refuses %s with HDK_INVALID_OPTION and suggests %s", (key, suggestion) => {
    expect(() => refuseUnknownOptions({ [key]: 1 }, known)).toThrow(
      expect.objectContaining({
        code: "HDK_INVALID_OPTION",
        message: expect.stringContaining(`Unknown option \`${key}\`. Did you mean \`${suggestion}\`?`),
      }),
    );
  });

  it("names no suggestion when nothing is close", () => {
    expect(() => refuseUnknownOptions({ somethingElse: 1 }, known)).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining("Did you mean") }),
    );
  });

  it("takes an adapter's keys as a second list and names both lists' keys when it refuses", () => {
    expect(() => refuseUnknownOptions({ binding: "DB", client: {} }, COMMON_OPTION_KEYS, ["client"])).not.toThrow();
    expect(() => refuseUnknownOptions({ clients: {} }, COMMON_OPTION_KEYS, ["client"])).toThrow(
      expect.objectContaining({
        message: expect.stringMatching(/Did you mean `client`\?.*Known options: `binding`.*`onEvent`, `client`\./),
      }),
    );
  });

  it("ignores inherited keys", () => {
    expect(() => refuseUnknownOptions(Object.create({ inherited: 1 }), known)).not.toThrow();
  });
});

describe("allowUnsafeOption", () => {
  const allowable = ["max", "ssl", "prepare"];

  it("returns the names the adapter can allow", () => {
    expect([...allowUnsafeOption(["prepare", "max"], allowable)]).toEqual(["prepare", "max"]);
  });

  it("refuses a name the adapter never refuses, suggesting the closest and listing the rest", () => {
    expect(() => allowUnsafeOption(["prepared"], allowable)).toThrow(
      expect.objectContaining({
        code: "HDK_INVALID_OPTION",
        message: expect.stringContaining(
          "`allowUnsafe` names `prepared`, which this adapter never refuses. Did you mean `prepare`? It can allow: `max`, `ssl`, `prepare`.",
        ),
      }),
    );
  });

  it("takes any name from an adapter that does not say what it can allow", () => {
    expect([...allowUnsafeOption(["anything"], undefined)]).toEqual(["anything"]);
  });

  it.each(["prepare", [1], null])("refuses %j, which is not an array of names", (value) => {
    expect(() => allowUnsafeOption(value, allowable)).toThrow(
      expect.objectContaining({ code: "HDK_INVALID_OPTION", message: expect.stringContaining("must be an array") }),
    );
  });
});

describe("teardownOption", () => {
  it("defaults to waitUntil and takes both policies", () => {
    expect(teardownOption(undefined)).toBe("waitUntil");
    expect(teardownOption("waitUntil")).toBe("waitUntil");
    expect(teardownOption("none")).toBe("none");
  });
});
