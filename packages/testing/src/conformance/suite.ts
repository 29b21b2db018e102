/**
 * The conformance suite every adapter's test file calls. It runs inside workerd (the Vitest plugin) against the
 * Worker from `worker.ts` and a real database server started by the global setup.
 */
import { env, exports } from "cloudflare:workers";
import { type CatalogEntry, catalog, type HyperdriveErrorCode, isHyperdriveError } from "@hyperdrive-kit/core";
import { afterAll, beforeAll, expect, inject, it } from "vitest";
import { FRAMING_KINDS } from "./worker.ts";

type Json = Record<string, unknown>;

/** The options of the mode under test (`{ pool: true }`…), merged under every call's own options. */
let mode: Json = {};

/**
 * Runs the suites of the enclosing `describe` in a mode of the adapter: every call to the conformance Worker gets
 * `options` (a call's own options win).
 */
export function useMode(options: Json): void {
  beforeAll(() => {
    mode = options;
  });
  afterAll(() => {
    mode = {};
  });
}

/** The options of the mode under test, for suites that pass them on their own way (handler-kinds-suite.ts). */
export const currentMode = (): Json => ({ ...mode });

/** The id the conformance Worker gave the last request the suite sent. */
let lastRequest = 0;

/** Sends a request to the conformance Worker and notes its id. */
async function send(path: string, options?: Json, query = "", init?: RequestInit): Promise<Response> {
  const params = new URLSearchParams(query);
  params.set("options", JSON.stringify({ ...mode, ...options }));
  const response = await (exports as unknown as { default: Fetcher }).default.fetch(
    `http://test${path}?${params}`,
    init,
  );
  lastRequest = Number(response.headers.get("x-hdk-request") ?? lastRequest);
  return response;
}

/** Calls the conformance Worker: `options` go to its `withHyperdrive`, `query` is the rest of the query string. */
export async function call(path: string, options?: Json, query = ""): Promise<Json> {
  const response = await send(path, options, query);
  const text = await response.text();
  if (!response.ok) throw new Error(`${path}: ${response.status} ${text}`);
  return JSON.parse(text) as Json;
}

/**
 * Returns a reader of what the Worker logs for the requests sent from now on. Each entry carries its request's id,
 * so the late teardown of an earlier request never shows up here; and the Worker's `/log` empties itself on every
 * read, so the reader keeps what each read took: polling never loses an entry.
 */
async function logFromNow(): Promise<() => Promise<string[]>> {
  const seen: string[] = [];
  const read = async () => (await call("/log")) as unknown as Array<{ request: number; entry: string }>;
  await read();
  const since = lastRequest;
  return async () => {
    seen.push(...(await read()).filter((item) => item.request > since).map((item) => item.entry));
    return [...seen];
  };
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

/**
 * `error` is the catalogue's `code`, and its message carries the entry's fix: the one for a handle used in its own
 * request where the entry has one (what a handle's user meets), else the general one.
 */
export function expectCode(error: unknown, code: HyperdriveErrorCode): void {
  expect(isHyperdriveError(error), String(error)).toBe(true);
  expect((error as { code: unknown }).code).toBe(code);
  const entry: CatalogEntry = catalog[code];
  expect((error as Error).message).toContain((entry.fixInRequest ?? entry.fix).slice(0, 40));
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
  /**
   * Whether the handle gives out objects that reach a socket (the conformance driver's `derived`), whose binding to
   * the request the suite then checks. Default true.
   */
  derived?: boolean;
}

export function describeConformance({ requests = 200, derived = true }: ConformanceOptions = {}): void {
  it("answers a query through the handle", async () => {
    expect(await call("/query")).toEqual({ one: 1 });
  });

  it("connects on the first query, not when the handle is made, and closes that connection at teardown", async () => {
    expect(await eventually(connections, (n) => n === 0)).toBe(0);
    const log = await logFromNow();
    expect(await call("/lazy")).toEqual({ before: 0, during: 1 });
    const entries = await eventually(log, (l) => l.some((e) => e.startsWith("teardown")));
    expect(lifecycleOf(entries)).toEqual(["connect", "teardown:closed"]);
    expect(await eventually(connections, (n) => n === 0)).toBe(0);
  });

  it("never connects a handle that runs no query, and still tears it down", async () => {
    const log = await logFromNow();
    expect(await call("/unused")).toEqual({ unused: true });
    const entries = await eventually(log, (l) => l.some((e) => e.startsWith("teardown")));
    expect(lifecycleOf(entries)).toEqual(["teardown:closed"]);
  });

  it(`leaves no server connection behind after ${requests} sequential requests`, async () => {
    const log = await logFromNow();
    for (let i = 0; i < requests; i++) expect(await call("/query")).toEqual({ one: 1 });
    const left = await eventually(connections, (n) => n === 0);
    console.log(`[conformance] server connections after ${requests} requests and teardown: ${left}`);
    expect(left).toBe(0);
    const entries = await eventually(log, (l) => l.filter((e) => e.startsWith("teardown")).length >= requests);
    const teardowns = entries.filter((entry) => entry.startsWith("teardown"));
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
    // With teardown "none" nothing closed the connection: the message must not claim it did.
    const skipped = await call("/after-teardown", { teardown: "none" });
    expect(skipped.code).toBe("HDK_HANDLE_AFTER_TEARDOWN");
    expect(skipped.message).not.toMatch(/connection was \(or is being\) closed/);
    expect(skipped.message).toContain('with `teardown: "none"`');
  });

  it("rejects (never throws synchronously) a misused handle's promise call, so `db.query(…).catch(fn)` catches it", async () => {
    expect(await call("/stash")).toEqual({ one: 1 });
    const seen = {
      outside: await call("/misuse-catch", {}, "where=outside"),
      "other-scope": await call("/misuse-catch", {}, "where=other-scope"),
      "after-teardown": await call("/misuse-catch", {}, "where=after-teardown"),
    };
    const summary = Object.fromEntries(
      Object.entries(seen).map(([where, body]) => [where, { threw: body.threw, code: body.code }]),
    );
    expect(summary).toEqual({
      outside: { threw: false, code: "HDK_HANDLE_AFTER_TEARDOWN" },
      "other-scope": { threw: false, code: "HDK_HANDLE_CROSS_REQUEST" },
      "after-teardown": { threw: false, code: "HDK_HANDLE_AFTER_TEARDOWN" },
    });
  });

  it("fails at global scope with HDK_GLOBAL_SCOPE", async () => {
    const globalScope = (env as unknown as { GLOBAL_SCOPE: Fetcher }).GLOBAL_SCOPE;
    const body = (await (await globalScope.fetch("http://global/")).json()) as Json;
    expect(body.code).toBe("HDK_GLOBAL_SCOPE");
    expect(body.message).toContain("Move the database client creation into your `fetch`");
  });

  it("keeps the handle usable while a streamed body is sent, and tears down after it ends", async () => {
    const log = await logFromNow();
    const response = await send("/stream");
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

  // The framing a client sees over HTTP (Content-Length or chunked) is tested in core (test/framing.test.ts, wrangler
  // dev); a service binding hides it. Here: every kind of body, one written by a query after the callback returned.
  it("answers with the same status, headers and body as without the handle, for every kind of body", async () => {
    for (const kind of FRAMING_KINDS) {
      for (const method of ["GET", "HEAD"]) {
        const answer = async (through: string) => {
          const response = await send("/framing", {}, `kind=${kind}&through=${through}`, { method });
          const headers = [...response.headers].filter(([name]) => name !== "x-hdk-request");
          return { status: response.status, headers, body: await response.text() };
        };
        const raw = await answer("raw");
        expect(await answer("handle"), `${method} ${kind}`).toEqual(raw);
        if (method === "GET") expect(raw.headers, kind).toContainEqual(["x-kind", kind]);
      }
    }
  });

  it("with teardown 'none', does not close the client and reports the skip", async () => {
    const log = await logFromNow();
    expect(await call("/query", { teardown: "none" })).toEqual({ one: 1 });
    const entries = await eventually(log, (l) => l.some((e) => e.startsWith("teardown")));
    expect(entries.filter((e) => e.startsWith("teardown"))).toEqual(["teardown:skipped"]);
  });

  it("names the Hyperdrive bindings env has when the binding is missing", async () => {
    const body = await call("/query", { binding: "NOPE" });
    expect(body.code).toBe("HDK_BINDING_MISSING");
    // The configuration example shows a local URL of this driver's engine only.
    const engine =
      String(body.message).includes("[pg]") || String(body.message).includes("[postgres]") ? "postgres" : "mysql";
    expect(body.message).toContain(`"localConnectionString": "${engine}://user:password@localhost`);
    expect(body.message).not.toContain(engine === "postgres" ? "mysql://" : "postgres://");
    expect(body.message).toMatch(/Hyperdrive bindings in env: .*HYPERDRIVE/);
    expect(body.message).toMatch(/Hyperdrive bindings in env: .*ADMIN/);
  });

  it("refuses an option key nobody reads with HDK_INVALID_OPTION, naming the closest one, before connecting", async () => {
    const body = await call("/query", { bindng: "ADMIN" });
    expect(body.code).toBe("HDK_INVALID_OPTION");
    expect(body.message).toContain("Unknown option `bindng`. Did you mean `binding`?");
  });

  it("refuses a misspelt allowUnsafe name and a misspelt teardown policy with HDK_INVALID_OPTION, before connecting", async () => {
    const unsafe = await call("/query", { allowUnsafe: ["sssl"] });
    expect(unsafe.code).toBe("HDK_INVALID_OPTION");
    expect(unsafe.message).toContain(
      "`allowUnsafe` names `sssl`, which this adapter never refuses. Did you mean `ssl`?",
    );
    const teardown = await call("/query", { teardown: "never" });
    expect(teardown.code).toBe("HDK_INVALID_OPTION");
    expect(teardown.message).toContain('`teardown` must be "waitUntil" (the default) or "none", got "never".');
  });

  it("refuses a binding that is not a Hyperdrive binding", async () => {
    const body = await call("/query", { binding: "NOT_A_BINDING" });
    expect(body.code).toBe("HDK_BINDING_INVALID");
  });

  it("bounds a query on a connection that stops answering with queryTimeoutMs: HDK_TIMEOUT, connection discarded", async () => {
    const body = await call(
      "/query-timeout",
      { binding: "VIA_PROXY", queryTimeoutMs: QUERY_TIMEOUT_MS },
      `control=${encodeURIComponent(inject("controlUrl"))}`,
    );
    expect(body.code, JSON.stringify(body)).toBe("HDK_TIMEOUT");
    expect(body.message).toContain("queryTimeoutMs");
    expect(body.ms).toBeGreaterThanOrEqual(QUERY_TIMEOUT_MS - 50);
    expect(body.ms).toBeLessThan(QUERY_TIMEOUT_MS + 5_000);
    // The stalled connection was discarded: the proxy holds nothing of ours once the request is over.
    const left = await eventually(proxyConnections, (n) => n === 0);
    expect(left).toBe(0);
    expect(await call("/query")).toEqual({ one: 1 });
  });

  if (derived) describeDerived();
  describeMiddleware();
}

/** The scope API driven the way an integration drives it: `openScope`, `attach` before `run`, `settle`, `close`. */
function describeMiddleware(): void {
  it("scope API: a handle attached before run() is checked when used, works inside run(), and closes after settle()", async () => {
    const log = await logFromNow();
    expect(await call("/middleware")).toEqual({ one: 1 });
    const entries = await eventually(log, (l) => l.some((e) => e.startsWith("teardown")));
    // Made before run(), used there: out of scope, refused before any I/O (and reported as an error event).
    expect(entries).toContain("before-run:HDK_HANDLE_OUT_OF_SCOPE");
    expect(entries.indexOf("error:HDK_HANDLE_OUT_OF_SCOPE")).toBeLessThan(entries.indexOf("connect"));
    expect(lifecycleOf(entries)).toEqual(["connect", "teardown:closed"]);
    expect(await eventually(connections, (n) => n === 0)).toBe(0);
  });

  it("scope API: a streamed response can still query, and teardown waits for its end", async () => {
    const log = await logFromNow();
    const response = await send("/middleware", {}, "downstream=stream");
    const lines = (await response.text()).trim().split("\n");
    expect(lines.map((line) => JSON.parse(line))).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
    const entries = await eventually(log, (l) => l.some((e) => e.startsWith("teardown")));
    expect(entries.filter((e) => e.startsWith("chunk"))).toEqual(["chunk:0", "chunk:1", "chunk:2"]);
    expect(entries.findIndex((e) => e.startsWith("teardown"))).toBeGreaterThan(entries.indexOf("chunk:2"));
  });

  it("scope API: an error thrown by the downstream handler reaches the caller, and close() tears down at once", async () => {
    const log = await logFromNow();
    expect(await call("/middleware", {}, "downstream=throw")).toEqual({
      error: "Error: downstream handler failed",
      state: "closed",
    });
    const entries = await eventually(log, (l) => l.some((e) => e.startsWith("closed")));
    expect(lifecycleOf(entries)).toEqual(["connect", "teardown:closed"]);
    expect(entries.at(-1)).toBe("closed:closed");
    expect(await eventually(connections, (n) => n === 0)).toBe(0);
  });
}

const QUERY_TIMEOUT_MS = 500;

async function proxyConnections(): Promise<number> {
  const response = await fetch(`${inject("controlUrl")}/proxy`);
  return ((await response.json()) as { connections: number }).connections;
}

/**
 * Every object the handle gives out that can reach a socket (the driver's `derived` objects) is bound to the same
 * request: kept past it, it fails at once with the scope's typed error, before any I/O, and leaves no connection.
 */
function describeDerived(): void {
  const names = () => call("/derived/names") as unknown as Promise<string[]>;
  /** Keeps `name`'s object from one request, then uses it as `path` says; returns that use's answer. */
  const keepThenUse = async (name: string, path: string) => {
    const kept = await call("/derived/stash", {}, `name=${name}`);
    expect(kept, name).toEqual({ kept: true });
    return call(path, {}, `name=${name}`);
  };
  const cases = [
    ["used by the next request, outside any scope", "/derived/reuse", "HDK_HANDLE_AFTER_TEARDOWN"],
    ["used inside the next request's scope", "/derived/reuse-in-scope", "HDK_HANDLE_CROSS_REQUEST"],
    ["used after its scope was torn down", "/derived/after-teardown", "HDK_HANDLE_AFTER_TEARDOWN"],
  ] as const;
  for (const [when, path, code] of cases) {
    it(`fails every object the handle gives out, ${when}, with ${code} at once`, async () => {
      const all = await names();
      expect(all.length).toBeGreaterThan(0);
      const seen: string[] = [];
      for (const name of all) {
        const body =
          path === "/derived/after-teardown" ? await call(path, {}, `name=${name}`) : await keepThenUse(name, path);
        seen.push(`${name} → ${body.code ?? JSON.stringify(body)} (${body.ms} ms)`);
        expect.soft(body.code, `${name}: ${JSON.stringify(body)}`).toBe(code);
        // Before any I/O: far below the runtime's own hang-cancel, and below any network round trip.
        expect.soft(body.ms as number, name).toBeLessThan(1_000);
      }
      console.log(`[conformance] derived objects ${when}:\n  ${seen.join("\n  ")}`);
      expect(await eventually(connections, (n) => n === 0)).toBe(0);
    });
  }
}

export { type Binding, bindings, errorEvent, lifecycle, type Outcome, scopedRunner } from "./scoped.ts";
