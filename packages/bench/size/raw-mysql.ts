// mysql as Cloudflare's Hyperdrive docs write it.
import { createConnection } from "mysql";

export default {
  async fetch(_request, env, ctx) {
    const connection = createConnection({
      host: env.HYPERDRIVE.host,
      user: env.HYPERDRIVE.user,
      password: env.HYPERDRIVE.password,
      database: env.HYPERDRIVE.database,
      port: env.HYPERDRIVE.port,
    });
    const rows = await new Promise((resolve, reject) =>
      connection.query("select ? as one", [1], (error, results) => (error ? reject(error) : resolve(results))),
    );
    ctx.waitUntil(new Promise<void>((resolve) => connection.end(() => resolve())));
    return Response.json(rows);
  },
} satisfies ExportedHandler<{ HYPERDRIVE: Hyperdrive }>;
