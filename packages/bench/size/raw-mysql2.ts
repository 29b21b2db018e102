// mysql2 as Cloudflare's Hyperdrive docs write it.
import { createConnection } from "mysql2/promise";

export default {
  async fetch(_request, env, ctx) {
    const connection = await createConnection({
      host: env.HYPERDRIVE.host,
      user: env.HYPERDRIVE.user,
      password: env.HYPERDRIVE.password,
      database: env.HYPERDRIVE.database,
      port: env.HYPERDRIVE.port,
      disableEval: true,
    });
    const [rows] = await connection.query("select ? as one", [1]);
    ctx.waitUntil(connection.end());
    return Response.json(rows);
  },
} satisfies ExportedHandler<{ HYPERDRIVE: Hyperdrive }>;
