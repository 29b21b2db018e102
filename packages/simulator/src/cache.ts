/**
 * Hyperdrive's query cache: entries keyed by query text and parameters, fresh for `maxAge`, then served stale for
 * `staleWhileRevalidate` while one background fetch refreshes them. Writes never invalidate an entry.
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
}

interface Entry<V> {
  value: V;
  storedAt: number;
  revalidating: boolean;
}

export type Lookup<V> = { value: V; stale: boolean } | undefined;

export class QueryCache<V> {
  private readonly entries = new Map<string, Entry<V>>();

  readonly options: CacheOptions;
  private readonly now: () => number;

  constructor(options: CacheOptions, now: () => number = Date.now) {
    this.options = options;
    this.now = now;
  }

  /** A fresh or stale entry; a stale one is marked so that only its first reader revalidates it. */
  lookup(key: string): (Lookup<V> & { revalidate: boolean }) | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    const age = this.now() - entry.storedAt;
    if (age < this.options.maxAgeMs) return { value: entry.value, stale: false, revalidate: false };
    if (age < this.options.maxAgeMs + this.options.staleWhileRevalidateMs) {
      const revalidate = !entry.revalidating;
      entry.revalidating = true;
      return { value: entry.value, stale: true, revalidate };
    }
    this.entries.delete(key);
    return undefined;
  }

  /** Stores a result unless it is over the size limit; says whether it did. */
  store(key: string, value: V, bytes: number): boolean {
    if (bytes > this.options.maxResultBytes) {
      this.entries.delete(key);
      return false;
    }
    this.entries.set(key, { value, storedAt: this.now(), revalidating: false });
    return true;
  }

  /** A failed revalidation leaves the stale entry to expire; the next reader after that tries again. */
  revalidationFailed(key: string): void {
    const entry = this.entries.get(key);
    if (entry) entry.revalidating = false;
  }

  clear(): void {
    this.entries.clear();
  }
}
