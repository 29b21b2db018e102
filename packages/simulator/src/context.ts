/** What a client session needs from the running simulator, whatever the engine. */
import type { CacheStatus } from "./cache.ts";
import type { FunctionCatalogue } from "./functions.ts";
import type { Pool, PooledConnection } from "./pool.ts";
import type { Statement } from "./sql.ts";

/** One statement as the simulator saw it: the cache status in Hyperdrive's words, and what happened. */
export interface QueryEvent {
  text: string;
  cache: CacheStatus;
  /** The refused feature, when the simulator refused the statement itself. */
  refused?: string;
  /** "stale": a hit served during stale_while_revalidate, refreshed in the background. */
  note?: string;
  durationMs: number;
  failed: boolean;
}

export interface SimulatorContext<C extends PooledConnection = never, Answer = Buffer> {
  pool: Pool<C>;
  messages: { refused: Record<string, string> };
  isReadOnly(statement: Statement): boolean;
  /** Which function names block caching, looked up in the origin's catalogue. */
  functions: FunctionCatalogue;
  /** The error packet a client gets when no origin connection could be had. */
  acquireError(error: unknown): Answer;
  report(event: QueryEvent): void;
  log(line: string): void;
}
