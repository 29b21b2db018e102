import { describe } from "vitest";
import { describeBodyStream } from "../body-stream.ts";

describe("Kysely on Postgres.js, .stream() read from a response body", () => describeBodyStream());
