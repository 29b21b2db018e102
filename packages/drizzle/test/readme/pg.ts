import { withDrizzle } from "@hyperdrive-kit/drizzle/pg";
import * as schema from "./schema";

export default {
  fetch: (_request, env, ctx) =>
    withDrizzle(
      env,
      ctx,
      async (db) => {
        // A Pool of 5: the two queries run in parallel, transactions take a client of the pool.
        const [users, posts] = await Promise.all([db.query.users.findMany(), db.select().from(schema.posts)]);
        return Response.json({ users, posts });
      },
      { schema, pool: true },
    ),
} satisfies ExportedHandler<Env>;
