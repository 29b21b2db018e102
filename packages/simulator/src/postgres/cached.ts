/** Cached PostgreSQL results: the origin's answer to one read, kept as the messages a client is sent. */
import type { QueryCache } from "../cache.ts";
import type { Pool } from "../pool.ts";
import { Backend } from "./messages.ts";
import type { PostgresOrigin } from "./origin.ts";

export interface CachedResult {
  /** Extended protocol: the answers to Describe of the statement (ParameterDescription, RowDescription or NoData). */
  parameters: Buffer;
  statementRows: Buffer;
  /** Extended protocol: the answer to Describe of the portal. */
  portalRows: Buffer;
  /** The rows and CommandComplete (simple protocol: RowDescription first). */
  body: Buffer[];
  bytes: number;
}

export type PostgresCache = QueryCache<CachedResult>;

/** What the origin says to a Parse, Describe S, Bind, Describe P, Execute, Sync batch ("extended") or a Query. */
export async function fetchCached(
  pool: Pool<PostgresOrigin>,
  request: Buffer,
  kind: "simple" | "extended",
  /** Runs on the same origin connection after the read, before it goes back: the function lookups. */
  after?: (server: PostgresOrigin) => Promise<void>,
  /** Told which origin connection runs the read while it runs, so that a client that leaves can cancel it. */
  running?: (server: PostgresOrigin | undefined) => void,
): Promise<CachedResult | { error: Buffer }> {
  const server = await pool.acquire();
  let messages: Buffer[];
  running?.(server);
  try {
    messages = await server.run(request);
    await after?.(server);
  } catch (error) {
    pool.release(server, { broken: true });
    throw error;
  } finally {
    running?.(undefined);
  }
  server.unnamed = undefined; // the batch parsed an unnamed statement of its own
  pool.release(server);
  // Notices and parameter changes belong to the session that ran the query, not to the cached answer.
  const answers = messages.filter((m) => m[0] !== 0x4e && m[0] !== 0x53 && m[0] !== 0x41);
  const error = answers.find((m) => m[0] === Backend.Error);
  if (error) return { error };
  answers.pop(); // ReadyForQuery
  // Copies of exact size: the messages are slices of the socket's chunks, which a cached entry must not keep alive.
  if (kind === "simple") {
    return {
      parameters: empty,
      statementRows: empty,
      portalRows: empty,
      body: [Buffer.concat(answers)],
      bytes: size(answers),
    };
  }
  // ParseComplete, ParameterDescription, RowDescription|NoData, BindComplete, RowDescription|NoData, rows…
  const [, parameters, statementRows, , portalRows, ...body] = answers;
  if (!parameters || !statementRows || !portalRows) throw new Error("unexpected answer from the origin");
  return {
    parameters: Buffer.from(parameters),
    statementRows: Buffer.from(statementRows),
    portalRows: Buffer.from(portalRows),
    body: [Buffer.concat(body)],
    bytes: size(answers),
  };
}

const empty = Buffer.alloc(0);

function size(messages: Buffer[]): number {
  return messages.reduce((total, m) => total + m.length, 0);
}
