import { describe, expect, it } from "vitest";
import { ObjectHandle, type RequestScope } from "../src/for-adapters.ts";

/** A Durable Object's `this.ctx` as far as the handle needs it, and a "client" per scope that counts its closes. */
function objectWithHandle(idleMs = 20) {
  const ctx = { waitUntil: (promise: Promise<unknown>) => void promise.catch(() => {}) };
  const made: Array<{ scope: RequestScope; closed: number }> = [];
  const handle = new ObjectHandle(
    ctx,
    (scope) => {
      const client = { scope, closed: 0 };
      scope.onTeardown("pg", async () => void client.closed++);
      made.push(client);
      return client;
    },
    { idleMs },
  );
  return { ctx, handle, made };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("ObjectHandle (a handle for the life of a Durable Object)", () => {
  it("keeps one client across runs, closes it when idle, and makes a new one on the next run", async () => {
    const { handle, made } = objectWithHandle();
    const first = await handle.run(async (client) => client);
    const second = await handle.run(async (client) => client);
    expect(second).toBe(first);
    expect(made).toHaveLength(1);
    await sleep(80);
    expect(made[0]?.closed).toBe(1);
    expect(made[0]?.scope.state).toBe("closed");
    const third = await handle.run(async (client) => client);
    expect(third).not.toBe(first);
    expect(made).toHaveLength(2);
    await handle.close();
  });

  it("does not close while a run is in progress", async () => {
    const { handle, made } = objectWithHandle(10);
    await handle.run(async () => sleep(60));
    expect(made[0]?.closed).toBe(0);
    await handle.close();
    expect(made[0]?.closed).toBe(1);
  });

  it("lets its client work only inside run()", async () => {
    const { handle } = objectWithHandle();
    const client = await handle.run(async (c) => c);
    expect(() => client.scope.assertUsable("pg")).toThrow(
      expect.objectContaining({ code: expect.stringMatching(/^HDK_HANDLE_/) }),
    );
    await handle.run(async (c) => expect(() => c.scope.assertUsable("pg")).not.toThrow());
    await handle.close();
  });

  it("refuses a client kept past run() as out of scope, not as a Workflow step's callback", async () => {
    const { handle } = objectWithHandle(1_000);
    const client = await handle.run(async (c) => c);
    // No run in progress: the client was kept and used after its callback returned (not a step.do callback).
    let error: unknown;
    try {
      client.scope.assertUsable("pg");
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ code: "HDK_HANDLE_OUT_OF_SCOPE", name: "HyperdriveError" });
    // While another run is in progress, code outside its async context still gets the async-context error.
    let release!: () => void;
    const running = handle.run(() => new Promise<void>((resolve) => (release = resolve)));
    expect(() => client.scope.assertUsable("pg")).toThrow(
      expect.objectContaining({ code: "HDK_HANDLE_OUTSIDE_ASYNC_CONTEXT" }),
    );
    release();
    await running;
    await handle.close();
  });

  it("is one per object, and refuses an idleMs that is not a positive number", () => {
    const { ctx } = objectWithHandle();
    expect(() => new ObjectHandle(ctx, () => ({}))).toThrow(expect.objectContaining({ code: "HDK_INVALID_OPTION" }));
    for (const idleMs of [0, -1, Number.NaN, "5" as unknown as number]) {
      expect(() => new ObjectHandle({ waitUntil() {} }, () => ({}), { idleMs })).toThrow(
        expect.objectContaining({ code: "HDK_INVALID_OPTION" }),
      );
    }
  });
});
