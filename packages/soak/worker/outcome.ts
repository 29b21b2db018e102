/**
 * What a request's error was, as the soak counts it: `typed` (a HyperdriveError, found through the wrappers an ORM
 * puts around it), `database` (the database's own error about a query, passed through), or `untyped` (anything else,
 * a driver's or runtime's raw error that reached the user). Class 08 and 57 SQLSTATEs and MySQL's connection-killed
 * errors are about the connection, not the query: untyped when they reach the user raw.
 */
import { catalog, classify, isHyperdriveError } from "@hyperdrive-kit/core";

export interface Outcome {
  kind: "typed" | "database" | "untyped";
  code: string;
  /** For an untyped error only: what it said (the soak checks every body for secrets anyway). */
  message?: string;
}

/** mysql: server shutdown, connection killed, lost connection during query. */
const MYSQL_CONNECTION_ERRNOS = new Set([1053, 1927, 2013]);

function* chain(error: unknown): Generator<unknown> {
  const seen = new Set<unknown>();
  for (let link = error; link != null && !seen.has(link) && seen.size < 8; ) {
    seen.add(link);
    yield link;
    link = typeof link === "object" ? (link as { cause?: unknown }).cause : undefined;
  }
}

export function outcomeOf(error: unknown): Outcome {
  for (const link of chain(error)) if (isHyperdriveError(link)) return { kind: "typed", code: link.code };
  // Prisma copies a HyperdriveError's code onto its own error.
  for (const link of chain(error)) {
    const code = (link as { code?: unknown }).code;
    if (typeof code === "string" && Object.hasOwn(catalog, code)) return { kind: "typed", code };
  }
  const classified = classify(error);
  if (classified.type === "database") {
    const { sqlState, errno } = classified;
    const connection =
      (sqlState !== undefined && /^(08|57P)/.test(sqlState)) ||
      (errno !== undefined && MYSQL_CONNECTION_ERRNOS.has(errno));
    if (!connection) return { kind: "database", code: sqlState ?? `errno ${errno}` };
  }
  const first = error as { name?: unknown; message?: unknown; code?: unknown } | undefined;
  return {
    kind: "untyped",
    code: typeof first?.code === "string" ? first.code : String(first?.name ?? typeof error),
    // The whole chain: an ORM's wrapper says little, what it wraps says what happened.
    message: [...chain(error)]
      .map((link) => String((link as { message?: unknown })?.message ?? link))
      .join(" ← ")
      .slice(0, 400),
  };
}

export const errorResponse = (error: unknown) => Response.json(outcomeOf(error), { status: 500 });
