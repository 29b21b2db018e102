import { Buffer } from "node:buffer";
import { EventEmitter } from "node:events";

/**
 * A Node-style socket over workerd's `connect()` that both node-postgres (`stream` option) and Postgres.js
 * (`socket` option) accept. It exists for two runtime facts the drivers' own sockets trip over:
 * - closing a socket while a read is pending makes workerd report an unhandled rejection ("This socket has been
 *   closed." / "Stream was cancelled.", porsager/postgres#1202) even when the read is awaited, so `end()` waits
 *   for the server to close the connection after the driver's Terminate message, and only then closes;
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

type RawSocket = ReturnType<typeof import("cloudflare:sockets").connect>;

export function createWorkerSocket(onOrphanError: (error: unknown) => void): WorkerSocket {
  const emitter = new EventEmitter();
  let raw: RawSocket | undefined;
  let writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  let readyState: "opening" | "open" | "closed" = "opening";
  let ending = false;
  let received = 0;
  // Writes issued before `cloudflare:sockets` has loaded.
  const queued: Array<() => void> = [];
  let markClosed!: () => void;
  const whenClosed = new Promise<void>((resolve) => {
    markClosed = resolve;
  });

  const emitSafely = (event: string, ...args: unknown[]) => {
    try {
      if (event === "error" && emitter.listenerCount("error") === 0) onOrphanError(args[0]);
      else emitter.emit(event, ...args);
    } catch (thrown) {
      // A driver that throws while parsing what the server sent (pg's SASL code when the password is not a string)
      // would otherwise wait for the server forever: fail the connection with what it threw.
      if (event === "data" && readyState !== "closed") {
        emitSafely("error", thrown);
        closeNow();
      } else {
        onOrphanError(thrown);
      }
    }
  };
  const close = () => {
    if (readyState === "closed") return;
    readyState = "closed";
    markClosed();
    emitSafely("end");
    emitSafely("close", false);
  };
  const fail = (error: unknown) => {
    if (readyState === "closed") return;
    if (!ending) emitSafely("error", error);
    close();
  };
  // The server always answers a connection before closing it (PostgreSQL: authentication or an error; MySQL: its
  // greeting). Closed before a single byte, the connection never reached a database: locally, wrangler's
  // Hyperdrive proxy accepts and then closes when the database is down.
  const closedByServer = () => {
    if (received > 0 || ending) return close();
    fail(new Error("The server closed the connection before answering: connection attempt failed."));
  };
  const closeNow = () => {
    ending = true;
    if (raw === undefined) return close();
    raw.close().catch(() => {});
  };
  const closeAfterServer = () => {
    ending = true;
    if (raw === undefined || readyState === "closed") return closeNow();
    const force = setTimeout(closeNow, SERVER_CLOSE_GRACE_MS);
    void whenClosed.then(() => {
      clearTimeout(force);
      closeNow();
    });
  };
  const send = (data: Uint8Array, callback?: (error?: unknown) => void): void => {
    const ready = writer;
    if (ready === undefined) return void queued.push(() => send(data, callback));
    ready.write(data).then(
      () => callback?.(),
      (error: unknown) => {
        callback?.(error);
        fail(error);
      },
    );
  };
  const bytes = (data: Uint8Array | string) => (typeof data === "string" ? Buffer.from(data) : data);

  // defineProperties, not Object.assign: assign would copy the getters' current values, not the getters.
  Object.defineProperties(emitter, {
    readyState: { get: () => readyState },
    writable: { get: () => readyState !== "closed" && !ending },
  });
  const socket = Object.assign(emitter, {
    whenClosed,
    connect(port: number, host: string) {
      import("cloudflare:sockets").then(({ connect }) => {
        if (readyState === "closed") return;
        raw = connect({ hostname: host, port });
        writer = raw.writable.getWriter();
        // workerd rejects these with the close error; unobserved, each would be an unhandled rejection.
        for (const settled of [raw.closed, writer.closed]) settled.catch(() => {});
        raw.opened.then(() => {
          if (readyState !== "opening") return;
          readyState = "open";
          emitSafely("connect");
        }, fail);
        const opened = raw.opened;
        // A native pipe, not a reader loop: no JS read is left pending to be rejected on close. preventAbort: a
        // reset must not abort our sink, whose rejected abort workerd would report as unhandled.
        raw.readable
          .pipeTo(
            new WritableStream<Uint8Array>({
              write(chunk) {
                received += chunk.byteLength;
                emitSafely("data", Buffer.from(chunk));
              },
            }),
            { preventAbort: true },
          )
          // A refused connection also ends the readable, sometimes before `opened` rejects: report the refusal,
          // not a clean end, or drivers say "terminated unexpectedly" about a database that is down.
          .then(() => opened.then(closedByServer, fail), fail);
        for (const write of queued.splice(0)) write();
      }, fail);
      return socket;
    },
    write(data: Uint8Array | string, encodingOrCallback?: unknown, callback?: (error?: unknown) => void) {
      const done = typeof encodingOrCallback === "function" ? (encodingOrCallback as typeof callback) : callback;
      if (readyState === "closed") {
        done?.(new Error("write after end"));
        return false;
      }
      send(bytes(data), done);
      return true;
    },
    end(data?: Uint8Array | string, encodingOrCallback?: unknown, callback?: () => void) {
      const done = typeof encodingOrCallback === "function" ? (encodingOrCallback as () => void) : callback;
      if (data !== undefined && bytes(data).length > 0) send(bytes(data), closeAfterServer);
      else closeAfterServer();
      if (done) void whenClosed.then(done);
      return socket;
    },
    destroy(error?: unknown) {
      // pg's connect timeout destroys with an error: it must reach the driver, or it reports a plain hang-up.
      if (error !== undefined && readyState !== "closed" && !ending) emitSafely("error", error);
      closeNow();
      return socket;
    },
    // Flow control and Nagle are the runtime's business; drivers call these unconditionally.
    setNoDelay: () => socket,
    setKeepAlive: () => socket,
    ref: () => socket,
    unref: () => socket,
    pause: () => socket,
    resume: () => socket,
  }) as WorkerSocket;
  return socket;
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
    allClosed: async () => {
      await Promise.all([...sockets].map((socket) => socket.whenClosed));
    },
  };
}
