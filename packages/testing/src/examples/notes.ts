/**
 * The tests of the Hono + Drizzle examples (`examples/hono-drizzle-*`): the same Worker on each database, so the same
 * routes and guarantees. Runs inside workerd against the example's own Worker (`exports.default`).
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { expect, inject, it } from "vitest";
import { eventually } from "../conformance/suite.ts";

/** A row of the examples' `notes` table, as the Worker answers it. */
export interface Note {
  id: number;
  title: string;
  body: string;
  done: boolean;
  createdAt: string;
}

const worker = (exports as unknown as { default: Fetcher }).default;
export const get = (path: string) => worker.fetch(`http://example${path}`);
export const post = (path: string, body: unknown) =>
  worker.fetch(`http://example${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

export interface NotesWorkerOptions {
  /** Client connections the server holds to the test database, not counting the one asking. */
  connections: () => Promise<number>;
  /** The title of the first seeded note. */
  firstTitle: string;
  /** What `POST /notes` runs, as Server-Timing counts it: `"1 query"` with RETURNING, `"2 queries"` without. */
  createQueries: string;
  /** The example's Hono app (its default export), called directly with `EXPOSE_ERROR_FIX` changed. */
  app: { fetch(request: Request, env: never, ctx: ExecutionContext): Response | Promise<Response> };
}

export function describeNotesWorker({ connections, firstTitle, createQueries, app }: NotesWorkerOptions): void {
  it("answers the index without connecting", async () => {
    const response = await get("/");
    expect(response.status).toBe(200);
    expect(((await response.json()) as { routes: string[] }).routes).toContain("GET /notes");
    expect(response.headers.get("server-timing")).toContain('desc="0 queries, 0 connects"');
  });

  it("lists the seeded notes", async () => {
    const response = await get("/notes");
    expect(response.status).toBe(200);
    const list = (await response.json()) as Note[];
    expect(list.map((note) => note.id)).toEqual([1, 2, 3, 4]);
    expect(list[0]).toMatchObject({ id: 1, title: firstTitle, done: true });
    expect(response.headers.get("server-timing")).toContain('desc="1 query, 1 connect"');
  });

  it("creates a note and gets it back by id", async () => {
    const created = await post("/notes", { title: "  Write the README  ", body: "Whole Worker, run, deploy." });
    expect(created.status).toBe(201);
    expect(created.headers.get("server-timing")).toContain(`desc="${createQueries}, 1 connect"`);
    const note = (await created.json()) as Note;
    expect(note).toMatchObject({ title: "Write the README", body: "Whole Worker, run, deploy.", done: false });
    expect(Number.isNaN(Date.parse(String(note.createdAt)))).toBe(false);
    const fetched = await get(`/notes/${note.id}`);
    expect([fetched.status, await fetched.json()]).toEqual([200, note]);
  });

  it("refuses a note without a title with 400, before any query", async () => {
    for (const body of [{}, { title: "" }, { title: 42 }, { title: "x".repeat(201) }, { title: "ok", body: 1 }]) {
      const response = await post("/notes", body);
      expect(response.status).toBe(400);
      expect(response.headers.get("server-timing")).toContain('desc="0 queries, 0 connects"');
      expect(await response.json()).toMatchObject({ error: { code: "INVALID_NOTE" } });
    }
  });

  it("answers 404 for a note that does not exist and for an id that is not one", async () => {
    const missing = await get("/notes/999999");
    expect([missing.status, await missing.json()]).toEqual([
      404,
      { error: { code: "NOT_FOUND", message: "No note with this id." } },
    ]);
    for (const path of ["/notes/abc", "/notes/99999999999", "/notes/-1"]) expect((await get(path)).status).toBe(404);
  });

  it("streams every note while the body is sent, querying after the handler has returned", async () => {
    const response = await get("/notes/export");
    expect(response.headers.get("content-type")).toBe("application/x-ndjson");
    // Server-Timing is taken when the handler returns: no query has run yet, every one runs in the body.
    expect(response.headers.get("server-timing")).toContain('desc="0 queries, 0 connects"');
    const lines = new TextDecoder()
      .decode(await response.arrayBuffer())
      .trim()
      .split("\n");
    // Every note, in order, two to a page: at least two queries ran in the body.
    const all = ((await (await get("/notes")).json()) as Note[]).map((note) => note.id);
    expect(lines.map((line) => (JSON.parse(line) as Note).id)).toEqual(all);
    expect(all.length).toBeGreaterThanOrEqual(4);
  });

  it("fails at once, with the code, when a db kept in a module variable is used by the next request; as deployed, without the message and the fix", async () => {
    const first = await get("/mistakes/kept-db");
    expect([first.status, await first.json()]).toMatchObject([200, { kept: true }]);
    const started = Date.now();
    const second = await get("/mistakes/kept-db");
    const text = await second.text();
    expect(second.status).toBe(500);
    // Used inside another request's scope (this request has the middleware too): the cross-request error. The
    // Worker runs with its wrangler.jsonc, whose EXPOSE_ERROR_FIX "false" is what a deploy gets.
    expect(JSON.parse(text)).toEqual({
      error: { code: "HDK_HANDLE_CROSS_REQUEST", category: "usage", retryable: false },
    });
    expect(Date.now() - started).toBeLessThan(5_000); // not the runtime's hang
  });

  it('adds the message and the fix where EXPOSE_ERROR_FIX is "true" (pnpm dev, pnpm demo), never a secret', async () => {
    const devEnv = { ...env, EXPOSE_ERROR_FIX: "true" } as never;
    const call = async () => {
      const ctx = createExecutionContext();
      const response = await app.fetch(new Request("http://example/mistakes/kept-db"), devEnv, ctx);
      const text = await response.text();
      await waitOnExecutionContext(ctx);
      return { status: response.status, text };
    };
    await call(); // keeps its db for the next call (or already uses the one the test above kept)
    const { status, text } = await call();
    expect(status).toBe(500);
    const { error } = JSON.parse(text) as { error: { code: string; message?: string; fix?: string } };
    expect(error.code).toBe("HDK_HANDLE_CROSS_REQUEST");
    expect(error.message).toContain("another request");
    expect(error.fix).toContain("never keep it in a global variable");
    const url = new URL(inject("databaseUrl"));
    expect(text).not.toContain(url.password);
    expect(text).not.toContain(inject("databaseUrl"));
  });

  it("leaves no connection on the server after a run of requests on every route", async () => {
    for (let i = 0; i < 25; i++) {
      for (const path of ["/notes", "/notes/1", "/notes/export", "/notes/999999"]) {
        const response = await get(path);
        await response.arrayBuffer();
        expect(response.status).toBeLessThan(500);
      }
    }
    expect(await eventually(connections, (n) => n === 0)).toBe(0);
  });
}
