import { describe, expect, it } from "vitest";
import { openScope, type RequestScope } from "../src/for-adapters.ts";
import { type HyperdriveEvent, isHyperdriveError } from "../src/index.ts";

function context() {
  const pending: Promise<unknown>[] = [];
  return { ctx: { waitUntil: (p: Promise<unknown>) => void pending.push(p) }, pending };
}

function scopeWith(options: Parameters<typeof openScope>[1] = {}) {
  const events: HyperdriveEvent[] = [];
  const { ctx, pending } = context();
  const scope = openScope(ctx, { onEvent: (event) => events.push(event), ...options });
  return { scope, events, pending };
}

const codeOf = (scope: RequestScope) => {
  try {
    scope.assertUsable("pg");
    return undefined;
  } catch (error) {
    return (error as { code: string }).code;
  }
};

describe("RequestScope", () => {
  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY, "5000"])(
    "refuses teardownTimeoutMs %s with HDK_INVALID_OPTION",
    (value) => {
      expect(() => scopeWith({ teardownTimeoutMs: value as number })).toThrow(
        expect.objectContaining({ code: "HDK_INVALID_OPTION", message: expect.stringContaining("teardownTimeoutMs") }),
      );
    },
  );

  it.each(["never", "waituntil", "", 0, null])("refuses teardown %j with HDK_INVALID_OPTION", (value) => {
    expect(() => scopeWith({ teardown: value as "none" })).toThrow(
      expect.objectContaining({ code: "HDK_INVALID_OPTION", message: expect.stringContaining("`teardown` must be") }),
    );
  });

  it("is usable inside run, and nowhere else", () => {
    const { scope } = scopeWith();
    // Attached before the scope was ever entered (an integration's middleware): plainly out of scope.
    expect(codeOf(scope)).toBe("HDK_HANDLE_OUT_OF_SCOPE");
    expect(scope.run(() => codeOf(scope))).toBeUndefined();
    // Entered and still open, but called outside its context: what a Workflow's step.do callback meets.
    expect(codeOf(scope)).toBe("HDK_HANDLE_OUTSIDE_ASYNC_CONTEXT");
    const other = scopeWith().scope;
    expect(other.run(() => codeOf(scope))).toBe("HDK_HANDLE_CROSS_REQUEST");
    // Nested scopes (two bindings in one request) see each other's handles.
    expect(scope.run(() => other.run(() => codeOf(scope)))).toBeUndefined();
  });

  it("refuses a missing execution context", () => {
    expect(() => openScope(undefined as never)).toThrow(expect.objectContaining({ code: "HDK_NO_EXECUTION_CONTEXT" }));
  });

  it("names this.ctx and ctx in the fix for a missing execution context", () => {
    expect(() => openScope(undefined as never)).toThrow(
      expect.objectContaining({
        fix: expect.stringMatching(/`this\.ctx` in a Durable Object, a `WorkerEntrypoint`.*`WorkflowEntrypoint`/),
      }),
    );
    expect(() => openScope(undefined as never)).toThrow(
      expect.objectContaining({
        fix: expect.stringContaining("`scheduled(controller, env, ctx)` and `queue(batch, env, ctx)`"),
      }),
    );
  });

  it("refuses an RPC stub as ctx (a Workflow's step has every method)", () => {
    // workerd's stubs answer every property name with a callable; a Proxy stands in for one here.
    const stub = new Proxy({}, { get: () => () => Promise.resolve() }) as never;
    expect(() => openScope(stub)).toThrow(
      expect.objectContaining({ code: "HDK_NO_EXECUTION_CONTEXT", message: expect.stringContaining("RPC stub") }),
    );
  });

  it("throws the outside-async-context refusal under the name Workflows do not retry", () => {
    const { scope } = scopeWith();
    scope.run(() => undefined);
    let thrown: unknown;
    try {
      scope.assertUsable("pg");
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({
      name: "NonRetryableError",
      code: "HDK_HANDLE_OUTSIDE_ASYNC_CONTEXT",
      retryable: false,
    });
    expect((thrown as Error).message).toContain('step.do("name", () => withHyperdrive(this.env, this.ctx');
    expect(isHyperdriveError(thrown)).toBe(true);
  });

  it("closes through waitUntil after settle, and refuses use afterwards", async () => {
    const { scope, events, pending } = scopeWith();
    let closed = 0;
    scope.onTeardown("pg", async () => void closed++);
    scope.settle("done");
    expect(pending).toHaveLength(1);
    await Promise.all(pending);
    expect(closed).toBe(1);
    expect(scope.state).toBe("closed");
    expect(scope.run(() => codeOf(scope))).toBe("HDK_HANDLE_AFTER_TEARDOWN");
    expect(events.filter((e) => e.type === "teardown")).toMatchObject([{ outcome: "closed", driver: "pg" }]);
  });

  it("waits for queries still in flight before closing, and stops waiting after teardownTimeoutMs", async () => {
    const { scope, pending } = scopeWith();
    let closed = 0;
    scope.onTeardown("pg", async () => void closed++);
    scope.queryStarted(); // `ctx.waitUntil(db.query(…))`: started in the callback, not awaited
    scope.settle("done");
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect([closed, scope.state]).toEqual([0, "draining"]);
    scope.queryEnded();
    await Promise.all(pending);
    expect([closed, scope.state, scope.queriesCut]).toEqual([1, "closed", false]);

    const bounded = scopeWith({ teardownTimeoutMs: 30 });
    let cut = 0;
    bounded.scope.onTeardown("pg", async () => void cut++);
    bounded.scope.queryStarted(); // never settles
    bounded.scope.settle("done");
    await Promise.all(bounded.pending);
    expect([cut, bounded.scope.state, bounded.scope.queriesCut]).toEqual([1, "closed", true]);
  });

  it("swallows close errors and reports them, without an unhandled rejection", async () => {
    const { scope, events, pending } = scopeWith();
    scope.onTeardown("postgres", () => Promise.reject(new Error("Stream was cancelled.")));
    scope.settle(undefined);
    await Promise.all(pending); // would reject if the error escaped
    expect(events.find((e) => e.type === "teardown")).toMatchObject({
      outcome: "failed",
      error: { code: "HDK_TEARDOWN_FAILED" },
    });
  });

  it("reports a close that finished synchronously (returned undefined) as closed, and one that threw as failed", async () => {
    const { scope, events, pending } = scopeWith();
    scope.onTeardown("mysql", () => undefined);
    scope.onTeardown("mysql2", () => {
      throw new Error("socket gone");
    });
    void scope.settle(undefined);
    await Promise.all(pending);
    expect(events.filter((e) => e.type === "teardown")).toMatchObject([
      { driver: "mysql", outcome: "closed" },
      {
        driver: "mysql2",
        outcome: "failed",
        error: { code: "HDK_TEARDOWN_FAILED", cause: { message: "socket gone" } },
      },
    ]);
    expect(scope.state).toBe("closed");
  });

  it("bounds a hanging close by the timeout", async () => {
    const { scope, events, pending } = scopeWith({ teardownTimeoutMs: 20 });
    scope.onTeardown("pg", () => new Promise(() => {}));
    scope.settle(undefined);
    await Promise.all(pending);
    expect(events.find((e) => e.type === "teardown")).toMatchObject({
      outcome: "timeout",
      error: { code: "HDK_TEARDOWN_TIMEOUT" },
    });
    expect(scope.state).toBe("closed");
  });

  it("with teardown 'none', never calls close and schedules nothing", async () => {
    const { scope, events, pending } = scopeWith({ teardown: "none" });
    let closed = 0;
    scope.onTeardown("pg", async () => void closed++);
    scope.settle(undefined);
    await scope.closed;
    expect(pending).toHaveLength(0);
    expect(closed).toBe(0);
    expect(events.find((e) => e.type === "teardown")).toMatchObject({ outcome: "skipped" });
  });

  it("waits for a streamed body and for scope.waitUntil work before closing", async () => {
    const { scope, pending } = scopeWith();
    let closed = false;
    scope.onTeardown("pg", async () => {
      closed = true;
    });
    let release!: () => void;
    scope.waitUntil(new Promise<void>((resolve) => (release = resolve)));
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("a"));
      },
      pull(controller) {
        controller.enqueue(new TextEncoder().encode("b"));
        controller.close();
      },
    });
    const response = await scope.settle(new Response(body, { status: 201, headers: { "x-test": "1" } }));
    expect(response.status).toBe(201);
    expect(response.headers.get("x-test")).toBe("1");
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(closed).toBe(false);
    expect(await response.text()).toBe("ab");
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(closed).toBe(false); // waitUntil work still pending
    release();
    await Promise.all(pending);
    expect(closed).toBe(true);
  });

  it("runs every pull and the cancel of a streamed body in the scope, whoever reads the body", async () => {
    // What each pull and the cancel found: made in the scope (as the callback makes it), the body is read from
    // outside it, as the runtime reads a response's body (with no async context at all).
    const probe = (scope: RequestScope, chunks: number) => {
      const seen: string[] = [];
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          seen.push(codeOf(scope) ?? "ok");
          controller.enqueue(new Uint8Array(1));
          if (seen.length === chunks) controller.close();
        },
        cancel() {
          seen.push(`cancel:${codeOf(scope) ?? "ok"}`);
        },
      });
      return { seen, body };
    };
    const read = scopeWith();
    const all = read.scope.run(() => probe(read.scope, 10));
    const response = await read.scope.run(() => read.scope.settle(new Response(all.body)));
    expect((await response.arrayBuffer()).byteLength).toBe(10);
    expect(all.seen).toEqual(Array(10).fill("ok"));
    await Promise.all(read.pending);
    expect(read.scope.state).toBe("closed");

    const cancel = scopeWith();
    const early = cancel.scope.run(() => probe(cancel.scope, 10));
    const cancelled = await cancel.scope.run(() => cancel.scope.settle(new Response(early.body)));
    const reader = cancelled.body?.getReader();
    await reader?.read();
    await reader?.cancel();
    expect(early.seen.at(-1)).toBe("cancel:ok");
    await Promise.all(cancel.pending);
    expect(cancel.scope.state).toBe("closed");
  });

  it("starts teardown after a body's own cancel, when the cancel comes while a pull is pending", async () => {
    // Kysely's pg stream: the pending pull waits for a cursor read; the body's cancel ends the iterator, whose
    // `finally` closes the cursor once that read is back, and closing the cursor needs the handle.
    const { scope, pending } = scopeWith();
    const order: string[] = [];
    scope.onTeardown("pg", () => {
      order.push("teardown");
      return undefined;
    });
    let answerRead!: () => void;
    const readBack = new Promise<void>((resolve) => {
      answerRead = resolve;
    });
    let pulls = 0;
    const body = scope.run(
      () =>
        new ReadableStream<Uint8Array>({
          async pull(controller) {
            if (++pulls === 1) controller.enqueue(new Uint8Array(1));
            else await readBack;
          },
          async cancel() {
            await readBack;
            order.push(`cursor closed:${codeOf(scope) ?? "ok"}`);
          },
        }),
    );
    const response = await scope.run(() => scope.settle(new Response(body)));
    const reader = response.body?.getReader();
    await reader?.read(); // the first chunk; the next pull now waits for its read
    const read = reader?.read();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const cancelled = reader?.cancel();
    await new Promise((resolve) => setTimeout(resolve, 5)); // the read is still on its way back
    answerRead();
    await Promise.all([read, cancelled]);
    await Promise.all(pending);
    expect(order).toEqual(["cursor closed:ok", "teardown"]);
    expect(scope.state).toBe("closed");
  });

  it("treats a cancelled body as finished", async () => {
    const { scope, pending } = scopeWith();
    const response = await scope.settle(new Response(new ReadableStream({ pull() {} })));
    await response.body?.cancel();
    await Promise.all(pending);
    expect(scope.state).toBe("closed");
  });
});
