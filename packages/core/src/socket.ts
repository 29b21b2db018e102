import { Buffer } from "node:buffer";
import { EventEmitter } from "node:events";
import { markConnectFailure } from "./classify.ts";

/**
 * A Node-style socket over workerd's `connect()` that both node-postgres (`stream` option) and Postgres.js
 * (`socket` option) accept. It exists for two runtime facts the drivers' own sockets trip over:
 * - closing a socket while a read is pending has made workerd report an unhandled rejection ("This socket has been
 *   closed." / "Stream was cancelled.", porsager/postgres#1202) even when the read is awaited, so `end()` waits
 *   for the server to close the connection after the driver's Terminate message, and only then closes, and
 *   `destroy()` cancels the pending read before it closes;
 * - Postgres.js removes every listener before its socket's last error, and an 'error' emitted with no listener
 *   throws: such errors go to `onOrphanError` instead.
 */
export interface WorkerSocket extends EventEmitter {
  readonly readyState: "opening" | "open" | "closed";
  readonly writable: boolean;
  /** Resolves once the connection is fully closed. */
  readonly whenClosed: Promise<void>;
  connect(port: number, host: string): this;
  write(data: Uint8Array | string, encodingOrCallback?: unknown, callback?: (error?: unknown) => void): boolean;
  end(data?: Uint8Array | string, encodingOrCallback?: unknown, callback?: () => void): this;
  /** Closes at once; with an error, emits it first, as Node's `socket.destroy(error)` does. */
  destroy(error?: unknown): this;
  setNoDelay(): this;
  setKeepAlive(): this;
  ref(): this;
  unref(): this;
  pause(): this;
  resume(): this;
}

/** How long `end()` waits for the server to close the connection before closing it itself. */
export const SERVER_CLOSE_GRACE_MS = 1000;

/**
 * For an adapter whose driver has just said goodbye (COM_QUIT, Terminate): resolves once the server has closed the
 * connection (`closed`, which never rejects), or, when it has not within {@link SERVER_CLOSE_GRACE_MS} (a peer that
 * never answered may never close its side), once `destroy()` has closed it from this side. A half-open socket must
 * not outlive the request.
 */
export function awaitServerClose(closed: Promise<void>, destroy: () => void): Promise<void> {
  // A timer and a callback, not a race of two promises: this runs once per connection closed.
  const grace = setTimeout(destroy, SERVER_CLOSE_GRACE_MS);
  return closed.then(() => clearTimeout(grace));
}

type RawSocket = ReturnType<typeof import("cloudflare:sockets").connect>;

/**
 * A class, not a closure over `let`s: a socket is made per connection, and wrangler's bundler (esbuild `keep_names`)
 * wraps every named closure in a `__name()` call, one `defineProperty` each, every time a socket is made.
 */
class NodeStyleSocket extends EventEmitter implements WorkerSocket {
  readonly whenClosed: Promise<void>;
  readonly #onOrphanError: (error: unknown) => void;
  #raw: RawSocket | undefined;
  #writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #readyState: "opening" | "open" | "closed" = "opening";
  #ending = false;
  #received = 0;
  /** Writes issued before `cloudflare:sockets` has loaded, with their callbacks. */
  #queued: Array<[Uint8Array, ((error?: unknown) => void) | undefined]> = [];
  #markClosed!: () => void;

  constructor(onOrphanError: (error: unknown) => void) {
    super();
    this.#onOrphanError = onOrphanError;
    this.whenClosed = new Promise<void>((resolve) => {
      this.#markClosed = resolve;
    });
  }

  get readyState(): "opening" | "open" | "closed" {
    return this.#readyState;
  }

  get writable(): boolean {
    return this.#readyState !== "closed" && !this.#ending;
  }

  connect(port: number, host: string): this {
    import("cloudflare:sockets").then(
      ({ connect }) => {
        if (this.#readyState === "closed") return;
        const raw = connect({ hostname: host, port });
        this.#raw = raw;
        const writer = raw.writable.getWriter();
        this.#writer = writer;
        // workerd rejects these with the close error; unobserved, each would be an unhandled rejection.
        raw.closed.catch(ignore);
        writer.closed.catch(ignore);
        const opened = raw.opened;
        opened.then(
          () => {
            if (this.#readyState !== "opening") return;
            this.#readyState = "open";
            this.#emitSafely("connect");
          },
          (error: unknown) => this.#fail(error),
        );
        // A reader loop, as the drivers' own sockets read: a native pipe into a JS `WritableStream` allocated about
        // 5 KB more per request (bench `allocations`).
        this.#reader = raw.readable.getReader();
        void this.#readAll(this.#reader, opened);
        for (const [data, callback] of this.#queued.splice(0)) this.#send(data, callback);
      },
      (error: unknown) => this.#fail(error),
    );
    return this;
  }

  write(data: Uint8Array | string, encodingOrCallback?: unknown, callback?: (error?: unknown) => void): boolean {
    const done = typeof encodingOrCallback === "function" ? (encodingOrCallback as typeof callback) : callback;
    if (this.#readyState === "closed") {
      done?.(new Error("write after end"));
      return false;
    }
    this.#send(bytes(data), done);
    return true;
  }

  end(data?: Uint8Array | string, encodingOrCallback?: unknown, callback?: () => void): this {
    const done = typeof encodingOrCallback === "function" ? (encodingOrCallback as () => void) : callback;
    if (data !== undefined && bytes(data).length > 0) this.#send(bytes(data), () => this.#closeAfterServer());
    else this.#closeAfterServer();
    if (done) void this.whenClosed.then(done);
    return this;
  }

  destroy(error?: unknown): this {
    // pg's connect timeout destroys with an error: it must reach the driver, or it reports a plain hang-up.
    if (error !== undefined && this.#readyState !== "closed" && !this.#ending) this.#emitSafely("error", error);
    this.#closeNow();
    return this;
  }

  // Flow control and Nagle are the runtime's business; drivers call these unconditionally.
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
  pause(): this {
    return this;
  }
  resume(): this {
    return this;
  }

  async #readAll(reader: ReadableStreamDefaultReader<Uint8Array>, opened: Promise<unknown>): Promise<void> {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        this.#receive(value);
      }
    } catch (error) {
      this.#fail(error);
      return;
    }
    // A refused connection also ends the readable, sometimes before `opened` rejects: report the refusal, not a clean
    // end, or drivers say "terminated unexpectedly" about a database that is down.
    opened.then(
      () => this.#closedByServer(),
      (error: unknown) => this.#fail(error),
    );
  }

  #receive(chunk: Uint8Array): void {
    this.#received += chunk.byteLength;
    this.#emitSafely("data", Buffer.from(chunk));
  }

  #emitSafely(event: string, ...args: unknown[]): void {
    try {
      if (event === "error" && this.listenerCount("error") === 0) this.#onOrphanError(args[0]);
      else this.emit(event, ...args);
    } catch (thrown) {
      // A driver that throws while parsing what the server sent (pg's SASL code when the password is not a string)
      // would otherwise wait for the server forever: fail the connection with what it threw.
      if (event === "data" && this.#readyState !== "closed") {
        this.#emitSafely("error", thrown);
        this.#closeNow();
      } else {
        this.#onOrphanError(thrown);
      }
    }
  }

  #close(): void {
    if (this.#readyState === "closed") return;
    this.#readyState = "closed";
    this.#markClosed();
    this.#emitSafely("end");
    this.#emitSafely("close", false);
  }

  #fail(error: unknown): void {
    if (this.#readyState === "closed") return;
    // The server speaks during every handshake: a connection that never received a byte was never established, so
    // its loss is a refused connect, whichever driver reports it first.
    if (this.#received === 0) markConnectFailure(error);
    if (!this.#ending) this.#emitSafely("error", error);
    this.#close();
  }

  // The server always answers a connection before closing it (PostgreSQL: authentication or an error; MySQL: its
  // greeting). Closed before a single byte, the connection never reached a database: locally, wrangler's
  // Hyperdrive proxy accepts and then closes when the database is down.
  #closedByServer(): void {
    if (this.#received > 0 || this.#ending) this.#close();
    else this.#fail(new Error("The server closed the connection before answering: connection attempt failed."));
  }

  #closeNow(): void {
    this.#ending = true;
    if (this.#raw === undefined) this.#close();
    else {
      // A read still pending (closed before the server did) ends as a cancel, not as a rejection from the close.
      if (this.#readyState !== "closed") this.#reader?.cancel().catch(ignore);
      this.#raw.close().catch(ignore);
    }
  }

  #closeAfterServer(): void {
    this.#ending = true;
    if (this.#raw === undefined || this.#readyState === "closed") {
      this.#closeNow();
      return;
    }
    // Once the server has closed (or the grace is over and we have), close our side: the readable has ended, so no
    // read is pending.
    void awaitServerClose(this.whenClosed, () => this.#closeNow()).then(() => this.#closeNow());
  }

  #send(data: Uint8Array, callback?: (error?: unknown) => void): void {
    const writer = this.#writer;
    if (writer === undefined) {
      this.#queued.push([data, callback]);
      return;
    }
    writer.write(data).then(
      () => callback?.(),
      (error: unknown) => {
        callback?.(error);
        this.#fail(error);
      },
    );
  }
}

function ignore(): void {}

function bytes(data: Uint8Array | string): Uint8Array {
  return typeof data === "string" ? Buffer.from(data) : data;
}

export function createWorkerSocket(onOrphanError: (error: unknown) => void): WorkerSocket {
  return new NodeStyleSocket(onOrphanError);
}

/** Creates sockets for one client and lets its teardown wait until every one of them has closed. */
export function socketPool(onOrphanError: (error: unknown) => void): {
  create(): WorkerSocket;
  /** Closes every open socket now, failing what runs on it with `error` (a timeout). */
  destroyAll(error: unknown): void;
  allClosed(): Promise<void>;
} {
  const sockets = new Set<WorkerSocket>();
  return {
    create() {
      const socket = createWorkerSocket(onOrphanError);
      sockets.add(socket);
      void socket.whenClosed.then(() => sockets.delete(socket));
      return socket;
    },
    destroyAll(error) {
      for (const socket of sockets) socket.destroy(error);
    },
    async allClosed() {
      await Promise.all([...sockets].map((socket) => socket.whenClosed));
    },
  };
}
