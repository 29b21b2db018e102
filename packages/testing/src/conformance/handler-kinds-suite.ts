/**
 * The handler-kind suite: the conformance suite's core cases (query, transaction, parallel queries, teardown, no
 * connection left, a kept handle refused, no unhandled rejection) inside every handler kind, through real
 * invocations: a queue message through a real queue, Durable Object requests, an alarm, a hibernatable WebSocket's
 * message, RPC calls, a Workflow instance. `scheduled` is called as Cloudflare's testing docs show (no local cron
 * trigger to fire), with a real execution context. The Worker under test exports `handlerKindClasses()` and its
 * Vitest configuration sets `handlerKinds: true`.
 */
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { classify, findHyperdriveError } from "@hyperdrive-kit/core";
import { describe, expect, it } from "vitest";
import {
  HANDLER_KINDS,
  type HandlerKind,
  type KindOrder,
  type KindReport,
  type WorkflowReport,
} from "./handler-kinds.ts";
import { call, connections, currentMode, eventually } from "./suite.ts";

interface Bindings {
  HANDLER_OBJECT: DurableObjectNamespace;
  HANDLER_QUEUE: Queue;
  HANDLER_WORKFLOW: Workflow;
}
const bindings = env as unknown as Bindings;
interface ObjectStub {
  fetch(url: string, init?: RequestInit): Promise<Response>;
  cases(order: KindOrder): Promise<KindReport>;
}
const objectStub = (name: string) =>
  bindings.HANDLER_OBJECT.get(bindings.HANDLER_OBJECT.idFromName(name)) as unknown as ObjectStub;
const entrypoint = () =>
  (
    exports as unknown as {
      HandlerEntrypoint: { cases(o: KindOrder): Promise<KindReport>; missingBinding(): Promise<void> };
    }
  ).HandlerEntrypoint;

let runs = 0;

/** Waits, bounded, for a value `read` returns that is not null. */
async function reported<T>(read: () => Promise<T | null>): Promise<T> {
  const value = await eventually(read, (v) => v !== null, 30_000);
  if (value === null) throw new Error("no report");
  return value;
}

async function workflowOutput(order: KindOrder): Promise<WorkflowReport> {
  const instance = await bindings.HANDLER_WORKFLOW.create({ params: order });
  const status = await eventually(
    () => instance.status(),
    (s) => s.status === "complete" || s.status === "errored" || s.status === "terminated",
    60_000,
  );
  if (status.status !== "complete") throw new Error(`workflow ${status.status}: ${JSON.stringify(status.error)}`);
  return status.output as WorkflowReport;
}

/** Runs the cases in one invocation of `kind` and returns what they reported. */
async function invoke(
  kind: HandlerKind,
  worker: ExportedHandler<unknown>,
  reuse: boolean,
): Promise<{ report: KindReport; teardowns: () => Promise<string[]> }> {
  const order: KindOrder = { kind, run: `${kind}-${++runs}-${Date.now()}`, options: currentMode(), reuse };
  const object = objectStub(kind);
  const fromObject = kind.startsWith("durable-object");
  const teardowns = async () =>
    (fromObject
      ? await (await object.fetch(`http://do/kinds/teardowns?run=${order.run}`)).json()
      : await call("/kinds/teardowns", {}, `run=${order.run}`)) as unknown as string[];
  const report = async (): Promise<KindReport> => {
    switch (kind) {
      case "scheduled": {
        const ctx = createExecutionContext();
        const controller = createScheduledController({ scheduledTime: new Date(), cron: JSON.stringify(order) });
        await worker.scheduled?.(controller, env, ctx);
        await waitOnExecutionContext(ctx);
        return reported(async () => (await call("/kinds/report", {}, `run=${order.run}`)) as unknown as KindReport);
      }
      case "queue":
        await bindings.HANDLER_QUEUE.send(order);
        return reported(async () => (await call("/kinds/report", {}, `run=${order.run}`)) as unknown as KindReport);
      case "durable-object-fetch":
        return (await (
          await object.fetch(`http://do/cases?order=${encodeURIComponent(JSON.stringify(order))}`)
        ).json()) as KindReport;
      case "durable-object-rpc":
        return object.cases(order);
      case "durable-object-alarm":
        await object.fetch(`http://do/alarm?order=${encodeURIComponent(JSON.stringify(order))}`);
        return reported(
          async () =>
            (await (await object.fetch(`http://do/kinds/report?run=${order.run}`)).json()) as KindReport | null,
        );
      case "durable-object-websocket": {
        const response = await object.fetch("http://do/ws", { headers: { Upgrade: "websocket" } });
        const ws = response.webSocket;
        if (!ws) throw new Error("no WebSocket");
        ws.accept();
        const answer = new Promise<KindReport>((resolve) =>
          ws.addEventListener("message", (event) => resolve(JSON.parse(String(event.data)) as KindReport)),
        );
        ws.send(JSON.stringify(order));
        const result = await answer;
        ws.close();
        return result;
      }
      case "rpc-entrypoint":
        return entrypoint().cases(order);
      case "workflow-step":
        return (await workflowOutput(order)).cases;
    }
  };
  return { report: await report(), teardowns };
}

function expectCases(report: KindReport): void {
  expect(report.error).toBeUndefined();
  expect(report.one).toBe(1);
  const [first, second] = report.transaction ?? [];
  expect(first).toBeDefined();
  expect(second).toBe(first);
  expect(report.parallel).toEqual([1, 2, 3]);
}

/** The suite, for the test file of a Worker whose default export is `worker`. */
export function describeHandlerKinds(worker: ExportedHandler<unknown>): void {
  describe("in every handler kind", () => {
    for (const kind of HANDLER_KINDS) {
      it(`${kind}: query, transaction, parallel queries, teardown, no connection left, a kept handle refused`, async () => {
        const first = await invoke(kind, worker, false);
        expectCases(first.report);
        expect(await eventually(first.teardowns, (t) => t.length > 0)).toEqual(["closed"]);
        expect(await eventually(connections, (n) => n === 0)).toBe(0);

        const second = await invoke(kind, worker, true);
        expectCases(second.report);
        // The handle the first invocation kept: refused before any I/O, inside the second invocation's own scope.
        expect(second.report.reuse?.code).toBe("HDK_HANDLE_CROSS_REQUEST");
        expect(second.report.reuse?.ms).toBeLessThan(1_000);
        console.log(
          `${kind} ${JSON.stringify(currentMode())}: kept handle refused with ${second.report.reuse?.code} in ${second.report.reuse?.ms} ms`,
        );
        expect(await eventually(second.teardowns, (t) => t.length > 0)).toEqual(["closed"]);
        expect(await eventually(connections, (n) => n === 0)).toBe(0);
        const { unhandled } = (await call("/unhandled")) as { unhandled: string[] };
        expect(unhandled).toEqual([]);
      });
    }

    it("workflow: a handle around step.do fails the step at once (not retried), step as ctx is refused, a step timeout is not HDK_TIMEOUT", async () => {
      const order: KindOrder = {
        kind: "workflow-step",
        run: `workflow-patterns-${Date.now()}`,
        options: currentMode(),
        patterns: true,
      };
      const output = await workflowOutput(order);
      expectCases(output.cases);
      expect(output.handleAroundStep).toEqual({
        code: "HDK_HANDLE_OUTSIDE_ASYNC_CONTEXT",
        name: expect.any(String),
        attempts: 1,
      });
      expect(output.stepAsCtx).toEqual({ code: "HDK_NO_EXECUTION_CONTEXT" });
      expect(output.stepTimeout).toEqual({ classified: "unknown", code: undefined });
      expect(await eventually(connections, (n) => n === 0)).toBe(0);
      const { unhandled } = (await call("/unhandled")) as { unhandled: string[] };
      expect(unhandled).toEqual([]);
    });

    it("durable object: an object-lifetime handle keeps one connection across the object's requests, closes it when idle, opens a new one after", async () => {
      const object = objectStub(`object-lifetime-${JSON.stringify(currentMode())}-${Date.now()}`);
      const options = encodeURIComponent(JSON.stringify(currentMode()));
      const get = async (path: string, query = "") =>
        (await (await object.fetch(`http://do${path}?options=${options}${query}`)).json()) as Record<string, unknown>;
      const first = await get("/object/run", "&idleMs=500");
      const second = await get("/object/run");
      // One connection for both requests: the same server-side connection answered.
      expect(second.backend).toBe(first.backend);
      expect(await get("/object/lifecycle")).toEqual(["object:connect"]);
      // One handle per object; the client kept outside run() is refused before any I/O.
      expect(await get("/object/second")).toMatchObject({ code: "HDK_INVALID_OPTION" });
      // Kept from an earlier request and used with no run in progress: out of scope (not a step callback's error).
      expect((await get("/object/kept")).code).toBe("HDK_HANDLE_OUT_OF_SCOPE");
      // Idle for 500 ms: closed, and nothing left on the server.
      expect(
        await eventually(
          () => get("/object/lifecycle"),
          (l) => (l as unknown as string[]).length === 2,
        ),
      ).toEqual(["object:connect", "object:teardown:closed"]);
      expect(await eventually(connections, (n) => n === 0)).toBe(0);
      const third = await get("/object/run");
      expect(third.backend).not.toBe(first.backend);
      expect(await get("/object/lifecycle")).toEqual(["object:connect", "object:teardown:closed", "object:connect"]);
      const { unhandled } = (await call("/unhandled")) as { unhandled: string[] };
      expect(unhandled).toEqual([]);
    });

    it("durable object: what the object-lifetime handle saves against a handle per request (figures)", async () => {
      const object = objectStub(`object-figures-${JSON.stringify(currentMode())}-${Date.now()}`);
      const options = encodeURIComponent(JSON.stringify(currentMode()));
      const timed = async (path: string) => {
        const ms: number[] = [];
        for (let i = 0; i < 30; i++) {
          const started = performance.now();
          await object.fetch(`http://do${path}?options=${options}`);
          ms.push(performance.now() - started);
        }
        return ms.sort((a, b) => a - b)[15] ?? Number.NaN;
      };
      const perRequest = await timed("/object/per-request");
      const objectLifetime = await timed("/object/run");
      await object.fetch("http://do/object/close");
      const lifecycle = (await (await object.fetch("http://do/object/lifecycle")).json()) as string[];
      const connects = (prefix: string) => lifecycle.filter((entry) => entry === `${prefix}connect`).length;
      console.log(
        `object-lifetime figures ${JSON.stringify(currentMode())}: p50 per request ${perRequest.toFixed(2)} ms, object handle ${objectLifetime.toFixed(2)} ms; connections opened for 30 requests: ${connects("request:")} vs ${connects("object:")}`,
      );
      expect(connects("request:")).toBe(30);
      expect(connects("object:")).toBe(1);
    });

    it("rpc: a HyperdriveError thrown by an entrypoint keeps its code across the call", async () => {
      let caught: unknown;
      try {
        await entrypoint().missingBinding();
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(Error);
      // What crossed: the message (workerd's default serialization drops the name and the other fields).
      expect((caught as Error).message).toContain("HDK_BINDING_MISSING");
      expect(classify(caught)).toMatchObject({ type: "catalog", code: "HDK_BINDING_MISSING" });
      expect(findHyperdriveError(caught)).toMatchObject({ code: "HDK_BINDING_MISSING", category: "usage" });
      expect(findHyperdriveError(caught)?.message).toContain("NO_SUCH_BINDING");
    });
  });
}
