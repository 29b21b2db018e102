import { describeFaults } from "@hyperdrive-kit/testing/faults";
import { mysqlFaultExpectations } from "@hyperdrive-kit/testing/mysql";
import { describeConformance } from "@hyperdrive-kit/testing/suite";
import { describe } from "vitest";

describe("Hono middleware on a mysql Connection", () => {
  describeConformance({ derived: false });
  describe("under real faults", () => describeFaults(mysqlFaultExpectations));
});
