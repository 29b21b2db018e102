import { describe } from "vitest";
import { describeBodyStream } from "../body-stream.ts";

describe("Kysely on a mysql2 Pool, .stream() read from a response body", () => describeBodyStream());
