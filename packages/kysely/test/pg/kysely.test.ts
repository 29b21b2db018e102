import { describeFaults } from "@hyperdrive-kit/testing/faults";
import { describeConformance, type Outcome, scopedRunner } from "@hyperdrive-kit/testing/suite";
import type { Kysely } from "kysely";
import { describe } from "vitest";
import { withKysely } from "../../src/pg.ts";
import { describePgKyselyCases } from "../pg-cases.ts";

describe("Kysely on a pg Pool", () => {
  describeConformance();
  describe("under real faults", () =>
    describeFaults({
      killedMidQuery: ["57P01"],
      stoppedMidQuery: ["57P01"],
      reset: ["HDK_CONNECT_REFUSED"],
      refused: ["HDK_CONNECT_REFUSED"],
    }));
  describe("what users do", () =>
    describePgKyselyCases(
      scopedRunner(withKysely as never) as <T>(
        // biome-ignore lint/suspicious/noExplicitAny: any database
        fn: (db: Kysely<any>) => Promise<T>,
      ) => Promise<Outcome<T>>,
    ));
});
