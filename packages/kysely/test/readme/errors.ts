import { findHyperdriveError, withKysely } from "@hyperdrive-kit/kysely/pg";
import type { Kysely } from "kysely";
import type { Database } from "./database";

export default {
  fetch: (_request, env, ctx) =>
    withKysely(env, ctx, async (db: Kysely<Database>) =>
      Response.json(await db.selectFrom("person").selectAll().execute()),
    ).catch((error: unknown) => {
      // The HyperdriveError itself, or the one behind a wrapper (its `cause`).
      const typed = findHyperdriveError(error);
      if (typed) return Response.json({ code: typed.code, retryable: typed.retryable }, { status: 503 });
      throw error;
    }),
} satisfies ExportedHandler<Env>;
