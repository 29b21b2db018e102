import { describeFaults } from "@hyperdrive-kit/testing/faults";
import { describeConformance, useMode } from "@hyperdrive-kit/testing/suite";
import { describe } from "vitest";

const faults = {
  killedMidQuery: ["57P01"],
  stoppedMidQuery: ["57P01"],
  reset: ["HDK_CONNECT_REFUSED"],
  refused: ["HDK_CONNECT_REFUSED"],
};

describe("Hono middleware on a pg Client", () => {
  describeConformance({ derived: false });
  describe("under real faults", () => describeFaults(faults));
});

describe("Hono middleware on a pg Pool ({ pool: true })", () => {
  useMode({ pool: true });
  describeConformance({ derived: false });
  describe("under real faults", () => describeFaults(faults));
});
