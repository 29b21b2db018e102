import { describeHandlerKinds } from "@hyperdrive-kit/testing/handler-kinds";
import { useMode } from "@hyperdrive-kit/testing/suite";
import { describe } from "vitest";
import worker from "./worker.ts";

describe("mysql2 Connection", () => describeHandlerKinds(worker as ExportedHandler<unknown>));

describe("mysql2 Pool ({ pool: true })", () => {
  useMode({ pool: true });
  describeHandlerKinds(worker as ExportedHandler<unknown>);
});
