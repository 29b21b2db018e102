/**
 * The work each route does, the same for every target: a query, a transaction, parallel queries, a streamed body
 * that queries while it streams (through a cursor where the target has one), a long query, and a kept handle used
 * by a later request.
 */
import { outcomeOf } from "./outcome.ts";
import { CURSOR_ROW_MS, CURSOR_ROWS, type Env, statements, type Target } from "./target.ts";

export const SCENARIOS = ["query", "transaction", "parallel", "stream", "long", "misuse"] as const;
export type Scenario = (typeof SCENARIOS)[number];

const ok = (rows: unknown) => Response.json({ ok: true, rows });
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Handles kept past their request, by target: the next misuse request of that target uses it. */
const kept = new Map<string, unknown>();

/**
 * A body that queries while it is sent: a query, the rows of `soak_rows` one at a time (a cursor, or a query per
 * row for targets without one), a last query, then `END <rows>`. An error ends the body with `ERR <outcome>`, so the
 * soak can tell a typed error from a body that ended early.
 */
function streamed<Db>(target: Target<Db>, db: Db): Response {
  const sql = statements[target.dialect];
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      const write = (line: string) => controller.enqueue(encoder.encode(`${line}\n`));
      let seen = 0;
      const each = async (n: number) => {
        seen++;
        write(String(n));
        await pause(CURSOR_ROW_MS);
      };
      try {
        await target.rows(db, sql.one);
        if (target.cursor) await target.cursor(db, sql, each);
        else
          for (let n = 1; n <= CURSOR_ROWS; n += 5) {
            const count = await target.rows(db, `${sql.rows} limit 5 offset ${n - 1}`);
            for (let i = 0; i < count; i++) await each(n + i);
          }
        await target.rows(db, sql.one);
        write(`END ${seen}`);
      } catch (error) {
        write(`ERR ${JSON.stringify(outcomeOf(error))}`);
      }
      controller.close();
    },
  });
  return new Response(body, { headers: { "content-type": "text/plain" } });
}

/**
 * Uses the handle a previous request kept: it must be refused with a typed error, as a rejection (a synchronous
 * throw is answered too, and flagged). Then the request's own handle does its query and is kept for the next one.
 */
async function misuse<Db>(name: string, target: Target<Db>, db: Db): Promise<Response> {
  const previous = kept.get(name) as Db | undefined;
  kept.set(name, db);
  let refused = "none";
  let syncThrow = false;
  if (previous !== undefined) {
    let pending: Promise<unknown>;
    try {
      pending = target.rows(previous, statements[target.dialect].one);
    } catch (error) {
      syncThrow = true;
      pending = Promise.reject(error);
    }
    try {
      await pending;
      return Response.json({ kind: "untyped", code: "MISUSE_NOT_REFUSED" }, { status: 500 });
    } catch (error) {
      const outcome = outcomeOf(error);
      if (outcome.kind !== "typed") return Response.json(outcome, { status: 500 });
      refused = outcome.code;
    }
  }
  const rows = await target.rows(db, statements[target.dialect].one);
  return Response.json({ ok: true, rows, refused, syncThrow });
}

export function runScenario<Db>(
  name: string,
  target: Target<Db>,
  scenario: Scenario,
  env: Env,
  ctx: ExecutionContext,
): Promise<Response> {
  const sql = statements[target.dialect];
  return target.run(env, ctx, async (db) => {
    switch (scenario) {
      case "query":
        return ok(await target.rows(db, sql.one));
      case "transaction":
        await target.transaction(db, sql);
        return ok(0);
      case "parallel":
        return ok(
          (await Promise.all([target.rows(db, sql.one), target.rows(db, sql.sleep(0.1)), target.rows(db, sql.rows)]))
            .length,
        );
      case "stream":
        return streamed(target, db);
      case "long":
        return ok(await target.rows(db, sql.sleep(1)));
      case "misuse":
        return misuse(name, target, db);
    }
  });
}
