import { describeHandlerKinds } from "@hyperdrive-kit/testing/handler-kinds";
import { describe } from "vitest";
import worker from "./worker.ts";

describe("mysql Connection", () => describeHandlerKinds(worker as ExportedHandler<unknown>));
