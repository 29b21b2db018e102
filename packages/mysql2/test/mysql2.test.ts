import { describeConformance } from "@hyperdrive-kit/testing/suite";
import { describe } from "vitest";

describe("mysql2 Connection", () => describeConformance());
