import { describe, expect, it } from "vitest";
import { COMMON_OPTION_KEYS, refuseUnknownOptions } from "../src/options.ts";

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
