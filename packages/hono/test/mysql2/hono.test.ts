import { describeFaults } from "@hyperdrive-kit/testing/faults";
import { mysqlFaultExpectations } from "@hyperdrive-kit/testing/mysql";
import { describeConformance, useMode } from "@hyperdrive-kit/testing/suite";
import { describe } from "vitest";

describe("Hono middleware on a mysql2 Connection", () => {
  describeConformance({ derived: false });
  describe("under real faults", () => describeFaults(mysqlFaultExpectations));
});

describe("Hono middleware on a mysql2 Pool ({ pool: true })", () => {
  useMode({ pool: true });
  describeConformance({ derived: false });
  describe("under real faults", () => describeFaults(mysqlFaultExpectations));
});
