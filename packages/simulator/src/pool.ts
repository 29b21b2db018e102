/**
 * The origin connection pool, engine-agnostic: at most `size` connections, handed out one holder at a time, a
 * bounded wait, and a reset before a returned connection is handed out again.
 */

export interface PooledConnection {
  /**
   * Puts the connection back in a clean state (PostgreSQL `DISCARD ALL`-like, MySQL `COM_RESET_CONNECTION`). A reset
   * that does not finish within `RESET_TIMEOUT_MS` counts as failed: the connection is closed, never kept.
   */
  reset(): Promise<void>;
  /** Closes the connection for good. */
  destroy(): void;
  /** False once the origin closed it or it broke: the pool drops it instead of handing it out. */
  readonly alive: boolean;
}

export interface PoolOptions<C extends PooledConnection> {
  size: number;
  /** How long an `acquire()` waits for a free connection before it fails with `PoolTimeoutError`. */
  acquireTimeoutMs: number;
  /** An idle connection is closed after this long (Hyperdrive: 10 minutes). */
  idleTimeoutMs: number;
  connect(): Promise<C>;
}

/** Every connection stayed busy for the whole wait. */
export class PoolTimeoutError extends Error {
  override name = "PoolTimeoutError";
}

/** Opening a new origin connection failed; `cause` is the driver's error. */
export class OriginConnectError extends Error {
  override name = "OriginConnectError";
}

/** A reset that takes longer is stuck (an origin connection left mid-protocol): it is closed instead. */
export const RESET_TIMEOUT_MS = 5_000;

interface Waiter<C> {
  resolve(connection: C): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

export class Pool<C extends PooledConnection> {
  private readonly idle: C[] = [];
  private readonly idleTimers = new Map<C, ReturnType<typeof setTimeout>>();
  private readonly waiters: Waiter<C>[] = [];
  /** Every connection the pool opened and has not discarded: idle, held or resetting. Closed with the pool. */
  private readonly live = new Set<C>();
  /** Connections that exist or are being opened: idle, held, resetting. */
  private count = 0;
  private closed = false;

  private readonly options: PoolOptions<C>;

  constructor(options: PoolOptions<C>) {
    this.options = options;
  }

  get stats() {
    return { total: this.count, idle: this.idle.length, waiting: this.waiters.length };
  }

  acquire(): Promise<C> {
    if (this.closed) return Promise.reject(new Error("the simulator is closed"));
    const connection = this.takeIdle();
    if (connection) return Promise.resolve(connection);
    if (this.count < this.options.size) return this.connect();
    return new Promise<C>((resolve, reject) => {
      const waiter: Waiter<C> = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          reject(new PoolTimeoutError(`no origin connection became free within ${this.options.acquireTimeoutMs} ms`));
        }, this.options.acquireTimeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  /** Returns a connection: reset first (off the client's path), then to the next waiter or the idle list. */
  release(connection: C, { broken = false } = {}): void {
    if (broken || !connection.alive || this.closed) {
      this.discard(connection);
      return;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stuck = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("the reset did not finish")), RESET_TIMEOUT_MS);
    });
    Promise.race([connection.reset(), stuck])
      .finally(() => clearTimeout(timer))
      .then(
        () => this.giveBack(connection),
        () => this.discard(connection),
      );
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error("the simulator is closed"));
    }
    for (const timer of this.idleTimers.values()) clearTimeout(timer);
    this.idleTimers.clear();
    this.idle.length = 0;
    // Held and resetting connections too: nothing of the pool may keep the process alive once it is closed.
    for (const connection of this.live) connection.destroy();
    this.live.clear();
  }

  private takeIdle(): C | undefined {
    while (this.idle.length > 0) {
      // Oldest first: statements move across every pooled connection, as they do behind Hyperdrive.
      const connection = this.idle.shift() as C;
      clearTimeout(this.idleTimers.get(connection));
      this.idleTimers.delete(connection);
      if (connection.alive) return connection;
      this.live.delete(connection);
      this.count--;
    }
    return undefined;
  }

  private async connect(): Promise<C> {
    this.count++;
    let connection: C;
    try {
      connection = await this.options.connect();
    } catch (error) {
      this.count--;
      // A slot came free: a waiter may open it.
      this.serveWaiter();
      throw new OriginConnectError("opening an origin connection failed", { cause: error });
    }
    if (this.closed) {
      connection.destroy();
      throw new Error("the simulator is closed");
    }
    this.live.add(connection);
    return connection;
  }

  private giveBack(connection: C): void {
    if (this.closed || !connection.alive) {
      this.discard(connection);
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter) {
      clearTimeout(waiter.timer);
      waiter.resolve(connection);
      return;
    }
    this.idle.push(connection);
    const timer = setTimeout(() => {
      this.idleTimers.delete(connection);
      const index = this.idle.indexOf(connection);
      if (index < 0) return;
      this.idle.splice(index, 1);
      this.discard(connection);
    }, this.options.idleTimeoutMs);
    timer.unref?.();
    this.idleTimers.set(connection, timer);
  }

  private discard(connection: C): void {
    connection.destroy();
    if (!this.live.delete(connection)) return; // closed with the pool already
    this.count--;
    this.serveWaiter();
  }

  private serveWaiter(): void {
    if (this.closed || this.count >= this.options.size) return;
    const waiter = this.waiters.shift();
    if (!waiter) return;
    clearTimeout(waiter.timer);
    this.connect().then(waiter.resolve, waiter.reject);
  }
}
