/** The simulated Hyperdrive configuration, with Hyperdrive's defaults. */

export interface CachingOptions {
  /** Seconds a cached result is served fresh. Hyperdrive: 60 (at most 3600). */
  maxAge?: number;
  /** Seconds a result past `maxAge` is still served while one background query refreshes it. Hyperdrive: 15. */
  staleWhileRevalidate?: number;
  /** Results larger than this are answered but not cached. Hyperdrive: 50 MB. */
  maxResultBytes?: number;
  /**
   * The most the cache holds, in bytes of results; the least recently used entries go first. Hyperdrive's cache
   * lives at the edge and documents no bound: this only keeps the simulator's memory in check. Default 256 MB.
   */
  maxCacheBytes?: number;
}

export interface SimulatorOptions {
  /** The origin database: `postgres://user:password@host:port/database` (TLS through `sslmode`). */
  origin: string;
  /** Where the simulator listens. Default 127.0.0.1 and a free port. */
  host?: string;
  port?: number;
  /**
   * The password clients (the Worker's binding) log in with; the user and database are the origin's. Default
   * `hyperdrive-kit-dev`, so the printed connection string carries no secret of the origin's.
   */
  password?: string;
  /**
   * Origin connections shared by every client: set it to your configuration's origin connection limit. Hyperdrive:
   * at least 5, a soft maximum of about 20 on the Free plan and 100 on Paid. Default 20, so that a local `58000`
   * is one production gives too with a configuration on the Free plan's limit.
   */
  poolSize?: number;
  /**
   * How long a statement waits for a free origin connection before it gets `58000` "Failed to acquire a
   * connection from the pool.". Hyperdrive does not document its wait: 5000 ms here is a guess.
   */
  acquireTimeoutMs?: number;
  /**
   * Statements running longer are terminated, as Hyperdrive's "Maximum query (statement) duration: 60 seconds".
   * Default 60 000; 0 switches the limit off.
   */
  statementTimeoutMs?: number;
  /** An idle origin connection is closed after this long. Hyperdrive: 10 minutes. */
  idleTimeoutMs?: number;
  /** Connecting to the origin gives up after this long. Hyperdrive: 15 s. */
  connectTimeoutMs?: number;
  /** Query caching, on by default as in Hyperdrive; `false` simulates a configuration with caching disabled. */
  caching?: boolean | CachingOptions;
  /** Milliseconds added to every round trip to the origin, so local timings look like a Worker far from its database. */
  latencyMs?: number;
  /** The texts of the refusals Hyperdrive does not document (see the README's behaviour table). */
  messages?: { refused?: Record<string, string> };
  /** Called once per statement with its cache status in Hyperdrive's words. */
  onQuery?: (event: import("./context.ts").QueryEvent) => void;
  /** A log line per statement and per notable event; default none (the CLI logs to stdout). */
  log?: (line: string) => void;
}

export const DEFAULTS = {
  host: "127.0.0.1",
  password: "hyperdrive-kit-dev",
  poolSize: 20,
  acquireTimeoutMs: 5_000,
  statementTimeoutMs: 60_000,
  connectTimeoutMs: 15_000,
  idleTimeoutMs: 10 * 60_000,
  maxAge: 60,
  staleWhileRevalidate: 15,
  maxResultBytes: 50 * 1024 * 1024,
  maxCacheBytes: 256 * 1024 * 1024,
  latencyMs: 0,
} as const;
