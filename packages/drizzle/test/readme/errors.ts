import { findHyperdriveError, withDrizzle } from "@hyperdrive-kit/drizzle/postgres";
import { users } from "./schema";

export default {
  fetch: (_request, env, ctx) =>
    withDrizzle(env, ctx, async (db) => Response.json(await db.select().from(users))).catch((error: unknown) => {
      // Drizzle wraps every failed query in a DrizzleQueryError; the HyperdriveError is its `cause`.
      const typed = findHyperdriveError(error);
      if (typed) return Response.json({ code: typed.code, retryable: typed.retryable }, { status: 503 });
      throw error;
    }),
} satisfies ExportedHandler<Env>;
