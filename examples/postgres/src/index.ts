import { isHyperdriveError, withHyperdrive } from "@hyperdrive-kit/postgres";

interface Env {
  HYPERDRIVE: Hyperdrive;
}

export default {
  fetch(request, env, ctx) {
    const url = new URL(request.url);
    return withHyperdrive(env, ctx, async (sql) => {
      switch (url.pathname) {
        case "/":
          return Response.json({
            now: (await sql`select now() as now`)[0]?.now,
            try: ["/todos", "/todos/stream"],
          });
        case "/todos":
          return Response.json(await sql`select id, title, done from todos order by id`);
        case "/todos/stream": {
          // The body keeps querying after this callback returns; the handle stays open until the stream ends.
          const encoder = new TextEncoder();
          const cursor = sql`select id, title, done from todos order by id`.cursor(2)[Symbol.asyncIterator]();
          const body = new ReadableStream<Uint8Array>({
            async pull(controller) {
              const { value, done } = await cursor.next();
              if (done) return controller.close();
              for (const row of value) controller.enqueue(encoder.encode(`${JSON.stringify(row)}\n`));
            },
          });
          return new Response(body, { headers: { "content-type": "application/x-ndjson" } });
        }
        default:
          return new Response("Not found", { status: 404 });
      }
    }).catch((error: unknown) => {
      // Every lifecycle, connection and Hyperdrive error carries a stable code and the fix.
      if (isHyperdriveError(error)) return Response.json({ code: error.code, fix: error.fix }, { status: 503 });
      throw error;
    });
  },
} satisfies ExportedHandler<Env>;
