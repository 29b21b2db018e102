import { describeFaults, pgFaultExpectations } from "@hyperdrive-kit/testing/faults";
import { describeConformance, scopedRunner, useMode } from "@hyperdrive-kit/testing/suite";
import { describe } from "vitest";
import { withDrizzle } from "../../src/pg.ts";
import { describePgDrizzleCases } from "../pg-cases.ts";

const scoped = scopedRunner(withDrizzle as never);

describe("Drizzle on a pg Client", () => {
  describeConformance();
  describe("under real faults", () => describeFaults(pgFaultExpectations));
  describe("what users do", () => describePgDrizzleCases(scoped));
});

describe("Drizzle on a pg Pool ({ pool: true })", () => {
  useMode({ pool: true });
  describeConformance();
  describe("under real faults", () => describeFaults(pgFaultExpectations));
  describe("what users do", () =>
    describePgDrizzleCases((fn, options) => scoped(fn as never, { pool: true, ...options }) as never));
});
