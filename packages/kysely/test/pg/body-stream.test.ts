import { describe } from "vitest";
import { describeBodyStream } from "../body-stream.ts";

describe("Kysely on a pg Pool, .stream() read from a response body (pg-cursor)", () => describeBodyStream());
describe("@hyperdrive-kit/pg alone, a pg-cursor read from a response body", () =>
  describeBodyStream("/body-stream/raw-pg"));
