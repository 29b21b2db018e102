/**
 * The conformance suite every adapter's test file calls. It runs inside workerd (the Vitest plugin) against the
 * Worker from `worker.ts` and a real database server started by the global setup.
 */
import { env, exports } from "cloudflare:workers";
import { catalog, type HyperdriveErrorCode, isHyperdriveError } from "@hyperdrive-kit/core";
import { expect, it } from "vitest";

type Json = Record<string, unknown>;

/** Calls the conformance Worker: `options` go to its `withHyperdrive`, `query` is the rest of the query string. */
export async function call(path: string, options?: Json, query = ""): Promise<Json> {
  const params = new URLSearchParams(query);
  if (options) params.set("options", JSON.stringify(options));
  const response = await (exports as unknown as { default: Fetcher }).default.fetch(`http://test${path}?${params}`);
  return (await response.json()) as Json;
}

async function log(): Promise<string[]> {
  return (await call("/log")) as unknown as string[];
}

/** The connects and teardowns in a `/log`, in order. */
const lifecycleOf = (entries: readonly string[]) =>
  entries.filter((entry) => entry === "connect" || entry.startsWith("teardown"));

/** Waits until `read` returns what `done` accepts, bounded; returns the last value either way. */
export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, maxMs = 10_000): Promise<T> {
  const until = Date.now() + maxMs;
  let value = await read();
  while (!done(value) && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    value = await read();
  }
  return value;
}

/** `error` is the catalogue's `code`, and its message carries the entry's fix. */
export function expectCode(error: unknown, code: HyperdriveErrorCode): void {
  expect(isHyperdriveError(error), String(error)).toBe(true);
  expect((error as { code: unknown }).code).toBe(code);
  expect((error as Error).message).toContain(catalog[code].fix.slice(0, 40));
}

/** Runs `run`, which must fail, and returns what it threw. */
export async function failure(run: () => Promise<unknown>): Promise<Error & { code?: string; fix?: string }> {
  try {
    await run();
  } catch (error) {
    return error as Error & { code?: string; fix?: string };
  }
  throw new Error("expected a failure, but it succeeded");
}

export function connections(): Promise<number> {
  return call("/connections").then((body) => body.n as number);
}

export interface ConformanceOptions {
  /** How many sequential requests the leak check sends. */
  requests?: number;
}

export function describeConformance({ requests = 200 }: ConformanceOptions = {}): void {
  it("answers a query through the handle", async () => {
    expect(await call("/query")).toEqual({ one: 1 });
  });

  it("connects on the first query, not when the handle is made, and closes that connection at teardown", async () => {
    expect(await eventually(connections, (n) => n === 0)).toBe(0);
    await log();
    expect(await call("/lazy")).toEqual({ before: 0, during: 1 });
    const entries = await eventually(log, (l) => l.some((e) => e.startsWith("teardown")));
    expect(lifecycleOf(entries)).toEqual(["connect", "teardown:closed"]);
    expect(await eventually(connections, (n) => n === 0)).toBe(0);
  });

  it("never connects a handle that runs no query, and still tears it down", async () => {
    await log();
    expect(await call("/unused")).toEqual({ unused: true });
    const entries = await eventually(log, (l) => l.some((e) => e.startsWith("teardown")));
    expect(lifecycleOf(entries)).toEqual(["teardown:closed"]);
  });

  it(`leaves no server connection behind after ${requests} sequential requests`, async () => {
    await log();
    for (let i = 0; i < requests; i++) expect(await call("/query")).toEqual({ one: 1 });
    const left = await eventually(connections, (n) => n === 0);
    console.log(`[conformance] server connections after ${requests} requests and teardown: ${left}`);
    expect(left).toBe(0);
    const teardowns = (await log()).filter((entry) => entry.startsWith("teardown"));
    expect(teardowns).toHaveLength(requests);
    expect(new Set(teardowns)).toEqual(new Set(["teardown:closed"]));
  });

  it("fails a handle reused by a later request with a typed error instead of hanging", async () => {
    expect(await call("/stash")).toEqual({ one: 1 });
    const reused = await call("/reuse");
    expect(reused.code).toBe("HDK_HANDLE_AFTER_TEARDOWN");
    expect(reused.name).toBe("HyperdriveError");
  });

  it("fails a handle reused inside another request's scope with HDK_HANDLE_CROSS_REQUEST", async () => {
    expect(await call("/stash")).toEqual({ one: 1 });
    const reused = await call("/reuse-in-scope");
    expect(reused.code).toBe("HDK_HANDLE_CROSS_REQUEST");
    expect(reused.message).toContain("Create the client inside your handler");
  });

  it("fails a handle used after its scope was torn down with HDK_HANDLE_AFTER_TEARDOWN", async () => {
    const body = await call("/after-teardown");
    expect(body.code).toBe("HDK_HANDLE_AFTER_TEARDOWN");
  });

  it("fails at global scope with HDK_GLOBAL_SCOPE", async () => {
    const globalScope = (env as unknown as { GLOBAL_SCOPE: Fetcher }).GLOBAL_SCOPE;
    const body = (await (await globalScope.fetch("http://global/")).json()) as Json;
    expect(body.code).toBe("HDK_GLOBAL_SCOPE");
    expect(body.message).toContain("Move the database client creation into your `fetch`");
  });

  it("keeps the handle usable while a streamed body is sent, and tears down after it ends", async () => {
    await log();
    const response = await (exports as unknown as { default: Fetcher }).default.fetch("http://test/stream");
    const lines = (await response.text())
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(lines).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
    const entries = await eventually(log, (l) => l.some((e) => e.startsWith("teardown")));
    const chunks = entries.filter((e) => e.startsWith("chunk"));
    expect(chunks).toEqual(["chunk:0", "chunk:1", "chunk:2"]);
    expect(entries.findIndex((e) => e.startsWith("teardown"))).toBeGreaterThan(entries.indexOf("chunk:2"));
  });

  it("with teardown 'none', does not close the client and reports the skip", async () => {
    await log();
    expect(await call("/query", { teardown: "none" })).toEqual({ one: 1 });
    const entries = await eventually(log, (l) => l.some((e) => e.startsWith("teardown")));
    expect(entries.filter((e) => e.startsWith("teardown"))).toEqual(["teardown:skipped"]);
  });

  it("names the Hyperdrive bindings env has when the binding is missing", async () => {
    const body = await call("/query", { binding: "NOPE" });
    expect(body.code).toBe("HDK_BINDING_MISSING");
    expect(body.message).toMatch(/Hyperdrive bindings in env: .*HYPERDRIVE/);
    expect(body.message).toMatch(/Hyperdrive bindings in env: .*ADMIN/);
  });

  it("refuses a binding that is not a Hyperdrive binding", async () => {
    const body = await call("/query", { binding: "NOT_A_BINDING" });
    expect(body.code).toBe("HDK_BINDING_INVALID");
  });
}

export { type Binding, bindings, errorEvent, lifecycle, type Outcome, scopedRunner } from "./scoped.ts";
