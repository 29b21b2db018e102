import { isHyperdriveError, withHyperdrive } from "@hyperdrive-kit/mysql2";
import type { RowDataPacket } from "mysql2";

interface Env {
  HYPERDRIVE: Hyperdrive;
  /** Only in the tests: a binding to a port nothing listens on, to show the error path. */
  DOWN?: Hyperdrive;
}

interface TodoRow extends RowDataPacket {
  id: number;
  title: string;
  done: number;
}

// `?binding=DOWN` picks the other binding; anything else uses HYPERDRIVE. Never pass a raw request value as a name.
const BINDINGS = ["HYPERDRIVE", "DOWN"] as const;

export default {
  fetch(request, env, ctx) {
    const url = new URL(request.url);
    const binding = BINDINGS.find((name) => name === url.searchParams.get("binding")) ?? "HYPERDRIVE";
    return withHyperdrive(
      env,
      ctx,
      async (db) => {
        switch (url.pathname) {
          case "/": {
            const name = url.searchParams.get("name") ?? "world";
            // execute() is sent as one client-side bound query: Hyperdrive does not support prepared statements.
            const [rows] = await db.execute<RowDataPacket[]>("select concat('hello, ', ?) as greeting", [name]);
            return new Response(String(rows[0]?.greeting));
          }
          case "/todos": {
            const [rows] = await db.execute<TodoRow[]>("select id, title, done from todos order by id");
            // MySQL's BOOLEAN is TINYINT(1): mysql2 returns 0 or 1.
            return Response.json(rows.map(({ id, title, done }) => ({ id, title, done: done === 1 })));
          }
          default:
            return new Response("Not found", { status: 404 });
        }
      },
      { binding },
    ).catch((error: unknown) => {
      // Every lifecycle, connection and Hyperdrive error carries a stable code and the fix.
      if (isHyperdriveError(error)) {
        return Response.json({ code: error.code, message: error.message, fix: error.fix }, { status: 503 });
      }
      throw error;
    });
  },
} satisfies ExportedHandler<Env>;
