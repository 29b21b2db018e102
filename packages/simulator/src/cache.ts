/**
 * Hyperdrive's query cache: entries keyed by query text and parameters, fresh for `maxAge`, then served stale for
 * `staleWhileRevalidate` while one background fetch refreshes them. Writes never invalidate an entry. Expired entries
 * are swept, and the whole stays under `maxCacheBytes` (least recently used out first), so a long `wrangler dev`
 * session does not keep every result it ever cached.
 */

/** The cache statuses of Hyperdrive's metrics (`cacheStatus`, observability/metrics.mdx). */
export type CacheStatus =
  | "disabled"
  | "hit"
  | "miss"
  | "uncacheable"
  | "multiplestatements"
  | "notaquery"
  | "oversizedquery"
  | "oversizedresult"
  | "parseerror"
  | "transaction"
  | "volatile";

export interface CacheOptions {
  maxAgeMs: number;
  staleWhileRevalidateMs: number;
  /** Larger results are answered but not stored (Hyperdrive: 50 MB). */
  maxResultBytes: number;
  /** The most all entries hold together. */
  maxCacheBytes: number;
}

interface Entry<V> {
  value: V;
  bytes: number;
  storedAt: number;
  revalidating: boolean;
}

/** How often expired entries are swept. */
const SWEEP_INTERVAL_MS = 5_000;

export type Lookup<V> = { value: V; stale: boolean } | undefined;

export class QueryCache<V> {
  /** In order of last use: the first entry is the least recently used. */
  private readonly entries = new Map<string, Entry<V>>();
  private total = 0;
  private sweeper: ReturnType<typeof setInterval> | undefined;

  readonly options: CacheOptions;
  private readonly now: () => number;

  constructor(options: CacheOptions, now: () => number = Date.now) {
    this.options = options;
    this.now = now;
  }

  /** Entries and the bytes they hold. */
  get stats() {
    return { entries: this.entries.size, bytes: this.total };
  }

  /** A fresh or stale entry; a stale one is marked so that only its first reader revalidates it. */
  lookup(key: string): (Lookup<V> & { revalidate: boolean }) | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    const age = this.now() - entry.storedAt;
    if (age < this.options.maxAgeMs + this.options.staleWhileRevalidateMs) {
      this.entries.delete(key);
      this.entries.set(key, entry); // most recently used
    }
    if (age < this.options.maxAgeMs) return { value: entry.value, stale: false, revalidate: false };
    if (age < this.options.maxAgeMs + this.options.staleWhileRevalidateMs) {
      const revalidate = !entry.revalidating;
      entry.revalidating = true;
      return { value: entry.value, stale: true, revalidate };
    }
    this.remove(key);
    return undefined;
  }

  /** Stores a result unless it is over the size limit; says whether it did. */
  store(key: string, value: V, bytes: number): boolean {
    this.remove(key);
    if (bytes > this.options.maxResultBytes) return false;
    this.entries.set(key, { value, bytes, storedAt: this.now(), revalidating: false });
    this.total += bytes;
    for (const [oldest] of this.entries) {
      if (this.total <= this.options.maxCacheBytes) break;
      this.remove(oldest);
    }
    this.sweepLater();
    return true;
  }

  /** Drops every entry past max_age + stale_while_revalidate. */
  sweep(): void {
    const limit = this.options.maxAgeMs + this.options.staleWhileRevalidateMs;
    const now = this.now();
    for (const [key, entry] of this.entries) if (now - entry.storedAt >= limit) this.remove(key);
  }

  private sweepLater(): void {
    if (this.sweeper) return;
    this.sweeper = setInterval(() => {
      this.sweep();
      if (this.entries.size > 0) return;
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }, SWEEP_INTERVAL_MS);
    this.sweeper.unref?.();
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.total -= entry.bytes;
  }

  /** A failed revalidation leaves the stale entry to expire; the next reader after that tries again. */
  revalidationFailed(key: string): void {
    const entry = this.entries.get(key);
    if (entry) entry.revalidating = false;
  }

  clear(): void {
    this.entries.clear();
    this.total = 0;
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }
}
