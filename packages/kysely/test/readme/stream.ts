import { withKysely } from "@hyperdrive-kit/kysely/pg";
import type { Kysely } from "kysely";
import Cursor from "pg-cursor";
import type { Database } from "./database";

export default {
  fetch: (_request, env, ctx) =>
    withKysely(
      env,
      ctx,
      async (db: Kysely<Database>) => {
        // The body streams after the callback has returned; the connection closes after its last row.
        const rows = db.selectFrom("person").select(["id", "name"]).stream(100)[Symbol.asyncIterator]();
        const encoder = new TextEncoder();
        const body = new ReadableStream<Uint8Array>({
          async pull(controller) {
            const { value, done } = await rows.next();
            if (done) controller.close();
            else controller.enqueue(encoder.encode(`${JSON.stringify(value)}\n`));
          },
          // The client went away: end the query, which gives its connection back.
          async cancel() {
            await rows.return?.(undefined);
          },
        });
        return new Response(body, { headers: { "content-type": "application/x-ndjson" } });
      },
      { cursor: Cursor },
    ),
} satisfies ExportedHandler<Env>;
