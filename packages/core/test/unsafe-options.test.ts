import { describe, expect, it } from "vitest";
import { type AdapterContext, MAX_CONNECTIONS, refuseCommonUnsafe } from "../src/for-adapters.ts";

// refuseCommonUnsafe reads only allowUnsafe from the context.
const context = (...allowUnsafe: string[]) => ({ allowUnsafe: new Set(allowUnsafe) }) as unknown as AdapterContext;

const refusal = (run: () => void) => {
  try {
    run();
    return undefined;
  } catch (error) {
    return error as Error & { code: string };
  }
};

describe("refuseCommonUnsafe", () => {
  it.each([
    ["multipleStatements", { multipleStatements: true }, "does not support multi-statement queries"],
    ["ssl", { ssl: {} }, "never uses TLS"],
    ["max", { connections: { option: "max", value: 7, suggested: 5 } }, "`max: 7` is above the Workers limit of 6"],
  ] as const)("refuses %s with HDK_UNSAFE_OPTION, naming the fix and the way out", (name, options, says) => {
    const error = refusal(() => refuseCommonUnsafe(context(), "pg", options));
    expect(error?.code).toBe("HDK_UNSAFE_OPTION");
    expect(error?.message).toContain(says);
    expect(error?.message).toContain(`allowUnsafe: ["${name}"]`);
    expect(refusal(() => refuseCommonUnsafe(context(name), "pg", options))).toBeUndefined();
  });

  it("lets through what is safe: no TLS, one statement, up to the limit of connections", () => {
    expect(MAX_CONNECTIONS).toBe(6);
    const options = {
      multipleStatements: false,
      ssl: false,
      connections: { option: "connectionLimit", value: MAX_CONNECTIONS, suggested: 5 },
    };
    expect(refusal(() => refuseCommonUnsafe(context(), "mysql2", options))).toBeUndefined();
    expect(refusal(() => refuseCommonUnsafe(context(), "mysql2", {}))).toBeUndefined();
  });
});
