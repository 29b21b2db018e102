import { describeConformance } from "@hyperdrive-kit/testing/suite";
import { describe } from "vitest";

describe("Postgres.js", () => describeConformance());
