import { hyperdrive } from "@hyperdrive-kit/hono";
import { postgresAdapter } from "@hyperdrive-kit/postgres";
import { Hono } from "hono";
import { streamText } from "hono/streaming";

const app = new Hono<{ Bindings: Env }>().use(hyperdrive(postgresAdapter, { serverTiming: true })).get("/export", (c) =>
  streamText(c, async (stream) => {
    // The connection stays open while the body streams, and closes after its last chunk.
    for await (const rows of c.var.db`select id, title from todos`.cursor(100)) {
      for (const row of rows) await stream.writeln(JSON.stringify(row));
    }
  }),
);

export default app;
