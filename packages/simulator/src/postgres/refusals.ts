/**
 * The PostgreSQL statements Hyperdrive does not support in transaction mode (supported-databases-and-features.mdx):
 * session state that could not survive a pooled connection. Matched on keywords outside comments and literals.
 */
import type { Statement } from "../sql.ts";

export type PostgresRefusal = "prepare" | "discard" | "advisory-lock" | "listen-notify";

/** Which refused feature a query uses, if any. */
export function postgresRefusal(statements: Statement[]): PostgresRefusal | undefined {
  for (const { words } of statements) {
    const first = words[0];
    if (first === "prepare" || first === "execute" || first === "deallocate") return "prepare";
    if (first === "discard") return "discard";
    if (first === "listen" || first === "unlisten" || first === "notify") return "listen-notify";
    for (const word of words) {
      if (word === "pg_notify") return "listen-notify";
      if (/^pg_(try_)?advisory_/.test(word)) return "advisory-lock";
    }
  }
  return undefined;
}

/**
 * Hyperdrive documents that these are unsupported but not what it answers: this text is the simulator's guess
 * (change it with the `messages.refused` option).
 */
export const POSTGRES_REFUSAL_MESSAGES: Record<PostgresRefusal, string> = {
  prepare:
    "Hyperdrive does not support SQL-level PREPARE, EXECUTE or DEALLOCATE: use your driver's protocol-level prepared statements",
  discard: "Hyperdrive does not support DISCARD: connections are reset when they return to the pool",
  "advisory-lock":
    "Hyperdrive does not support advisory locks: a pooled connection does not keep them between transactions",
  "listen-notify": "Hyperdrive does not support LISTEN, UNLISTEN or NOTIFY: a pooled connection does not keep them",
};
