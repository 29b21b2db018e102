import { withHyperdrive } from "@hyperdrive-kit/pg";
import { describeFaults, pgFaultExpectations } from "@hyperdrive-kit/testing/faults";
import { describeConformance, type Outcome, scopedRunner } from "@hyperdrive-kit/testing/suite";
import type { Kysely } from "kysely";
import type { Pool } from "pg";
import Cursor from "pg-cursor";
import { describe } from "vitest";
import { createKysely, withKysely } from "../../src/pg.ts";
import { describePgKyselyCases } from "../pg-cases.ts";

const scoped = scopedRunner(withKysely as never);
const scopedPool = scopedRunner<Pool>(withHyperdrive as never);

describe("Kysely on a pg Pool", () => {
  describeConformance();
  describe("under real faults", () =>
    describeFaults(pgFaultExpectations, { unawaitedWork: "Kysely acquires its connection after teardown began" }));
  describe("what users do", () =>
    describePgKyselyCases(
      // biome-ignore lint/suspicious/noExplicitAny: any database
      <T>(fn: (db: Kysely<any>) => Promise<T>) => scoped(fn as never, { cursor: Cursor }) as Promise<Outcome<T>>,
      (fn) => scopedPool((pool) => fn(() => createKysely(pool, { cursor: Cursor })), { pool: true }),
    ));
});
