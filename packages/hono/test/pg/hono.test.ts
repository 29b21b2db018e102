import { describeFaults, pgFaultExpectations } from "@hyperdrive-kit/testing/faults";
import { describeConformance, useMode } from "@hyperdrive-kit/testing/suite";
import { describe } from "vitest";

describe("Hono middleware on a pg Client", () => {
  describeConformance({ derived: false });
  describe("under real faults", () => describeFaults(pgFaultExpectations));
});

describe("Hono middleware on a pg Pool ({ pool: true })", () => {
  useMode({ pool: true });
  describeConformance({ derived: false });
  describe("under real faults", () => describeFaults(pgFaultExpectations));
});
