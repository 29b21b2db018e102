import { describeFaults } from "@hyperdrive-kit/testing/faults";
import { describeConformance, scopedRunner } from "@hyperdrive-kit/testing/suite";
import { describe } from "vitest";
import { withDrizzle } from "../../src/postgres.ts";
import { describePgDrizzleCases } from "../pg-cases.ts";

describe("Drizzle on Postgres.js", () => {
  describeConformance();
  describe("under real faults", () =>
    describeFaults({
      killedMidQuery: ["57P01", "HDK_POSTGRES_CONNECTION_CLOSED"],
      stoppedMidQuery: ["57P01", "HDK_POSTGRES_CONNECTION_CLOSED"],
      reset: ["HDK_CONNECT_REFUSED", "HDK_POSTGRES_CONNECTION_CLOSED"],
      refused: ["HDK_CONNECT_REFUSED"],
    }));
});

describe("Drizzle on Postgres.js: what users do", () => describePgDrizzleCases(scopedRunner(withDrizzle as never)));
