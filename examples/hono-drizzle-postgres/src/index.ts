import { hyperdrive, hyperdriveErrorHandler } from "@hyperdrive-kit/hono";
import { pgClientAdapter } from "@hyperdrive-kit/pg";
import { asc, eq, gt } from "drizzle-orm";
import { drizzle, type NodePgDatabase } from "drizzle-orm/node-postgres";
import { Hono } from "hono";
import { stream } from "hono/streaming";
import { validator } from "hono/validator";
import * as schema from "./schema.ts";
import { notes } from "./schema.ts";

interface Env {
  HYPERDRIVE: Hyperdrive;
  /** "true" adds the message and the fix to error answers (`pnpm dev` and `pnpm demo`); deployed, "false". */
  EXPOSE_ERROR_FIX: string;
}

/** A note as POST /notes takes it: a title of 1 to 200 characters and an optional body. */
const newNote = validator("json", (value: { title?: unknown; body?: unknown }, c) => {
  const title = typeof value.title === "string" ? value.title.trim() : "";
  const body = value.body ?? "";
  if (title.length === 0 || title.length > 200 || typeof body !== "string" || body.length > 10_000) {
    return c.json({ error: { code: "INVALID_NOTE", message: "Send { title: 1–200 characters, body?: text }." } }, 400);
  }
  return { title, body };
});

/** The one mistake this Worker makes on purpose (GET /mistakes/kept-db). */
let kept: NodePgDatabase<typeof schema> | undefined;

const app = new Hono<{ Bindings: Env }>()
  // Each request gets its own pg Client with Drizzle on it, as `c.var.db`: connected on the first query, closed
  // through ctx.waitUntil after the response (a streamed body included) has been sent.
  .use(hyperdrive(pgClientAdapter, { map: (client) => drizzle(client, { schema }), serverTiming: true }))
  .get("/", (c) =>
    // No query here, so no connection is made.
    c.json({ routes: ["GET /notes", "POST /notes", "GET /notes/:id", "GET /notes/export", "GET /mistakes/kept-db"] }),
  )
  .get("/notes", async (c) => c.json(await c.var.db.select().from(notes).orderBy(asc(notes.id))))
  .post("/notes", newNote, async (c) => {
    const [note] = await c.var.db.insert(notes).values(c.req.valid("json")).returning();
    return c.json(note, 201);
  })
  // Every note as NDJSON, read a page at a time while the body is being sent.
  .get("/notes/export", (c) => {
    c.header("content-type", "application/x-ndjson");
    return stream(c, async (body) => {
      for (let after = 0; ; ) {
        const page = await c.var.db.select().from(notes).where(gt(notes.id, after)).orderBy(asc(notes.id)).limit(2);
        if (page.length === 0) return;
        for (const note of page) await body.write(`${JSON.stringify(note)}\n`);
        after = page[page.length - 1]?.id ?? after;
      }
    });
  })
  .get("/notes/:id{[0-9]{1,9}}", async (c) => {
    const note = await c.var.db.query.notes.findFirst({ where: eq(notes.id, Number(c.req.param("id"))) });
    return note ? c.json(note) : c.json({ error: { code: "NOT_FOUND", message: "No note with this id." } }, 404);
  })
  .get("/mistakes/kept-db", async (c) => {
    // What not to do, to show the error handler: a `db` kept in a module variable outlives its request. The next
    // request that uses it fails at once with HDK_HANDLE_CROSS_REQUEST, where a bare driver would fail with "Cannot
    // perform I/O on behalf of a different request" in production and hang in `wrangler dev`.
    const previous = kept;
    kept = c.var.db;
    if (!previous) return c.json({ kept: true, next: "Call again: the next request uses this request's db." });
    return c.json(await previous.select().from(notes).limit(1));
  });

app.notFound((c) => c.json({ error: { code: "NOT_FOUND", message: "No such route." } }, 404));
// HyperdriveErrors (also inside Drizzle's DrizzleQueryError) become { error: { code, category, retryable } } with
// 503 when a retry can help, else 500; with EXPOSE_ERROR_FIX "true" (local development) also the message and the fix.
app.onError(hyperdriveErrorHandler({ exposeFix: (c) => c.env.EXPOSE_ERROR_FIX === "true" }));

export default app satisfies ExportedHandler<Env>;
