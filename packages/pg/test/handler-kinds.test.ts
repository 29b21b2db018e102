import { describeHandlerKinds } from "@hyperdrive-kit/testing/handler-kinds";
import { useMode } from "@hyperdrive-kit/testing/suite";
import { describe } from "vitest";
import worker from "./worker.ts";

describe("pg Client", () => describeHandlerKinds(worker as ExportedHandler<unknown>));

describe("pg Pool ({ pool: true })", () => {
  useMode({ pool: true });
  describeHandlerKinds(worker as ExportedHandler<unknown>);
});
