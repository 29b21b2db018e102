/** The contract between the simulator and each engine (PostgreSQL, MySQL): built once, then handed each socket. */
import type { Socket } from "node:net";
import type { CacheOptions } from "./cache.ts";
import type { QueryEvent } from "./context.ts";
import type { Pool, PooledConnection } from "./pool.ts";
import type { Statement } from "./sql.ts";

export interface EngineConfig {
  pool: { size: number; acquireTimeoutMs: number; idleTimeoutMs: number };
  connect: { connectionString: string; connectTimeoutMs: number; latencyMs: number; statementTimeoutMs: number };
  /** Undefined: caching disabled. */
  cache: CacheOptions | undefined;
  password: string;
  /** The user and database the binding logs in with: the origin's. Anything else is refused at login. */
  login: { user: string; database: string };
  refused: Record<string, string>;
  shared: {
    isReadOnly(statement: Statement): boolean;
    report(event: QueryEvent): void;
    log(line: string): void;
  };
}

export interface Engine {
  pool: Pool<PooledConnection>;
  clearCache(): void;
  cacheStats(): { entries: number; bytes: number };
  accept(socket: Socket): void;
}
