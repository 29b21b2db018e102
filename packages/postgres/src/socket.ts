import { Buffer } from "node:buffer";
import { EventEmitter } from "node:events";

/**
 * The socket Postgres.js gets through its `socket` option: the shape of its own Workers polyfill, minus its bug.
 * On `sql.end()` Postgres.js removes every listener and then the polyfill's read loop rejects and emits 'error'
 * with nobody listening, which throws: one unhandled "Stream was cancelled" rejection per close
 * (porsager/postgres#1202). Here, errors with no listener go to `onOrphanError` instead.
 */
export interface PostgresSocket extends EventEmitter {
  readonly readyState: "open" | "closed";
  /** Resolves once the socket has fully closed (its read loop has ended). */
  readonly whenClosed: Promise<void>;
  write(data: Uint8Array, callback?: () => void): boolean;
  end(data?: Uint8Array): void;
  destroy(): void;
  pause(): void;
  resume(): void;
}

/** How long to wait for the server to close the connection after Terminate before closing it ourselves. */
const SERVER_CLOSE_GRACE_MS = 1000;

export async function openSocket(
  host: string,
  port: number,
  onOrphanError: (error: unknown) => void,
): Promise<PostgresSocket> {
  const { connect } = await import("cloudflare:sockets");
  const raw = connect({ hostname: host, port });
  const writer = raw.writable.getWriter();
  let readyState: "open" | "closed" = "open";
  // Set once we close the socket ourselves: the read that then fails is the end we asked for, not an error.
  let ending = false;
  const emitter = new EventEmitter();
  let markClosed!: () => void;
  const whenClosed = new Promise<void>((resolve) => {
    markClosed = resolve;
  });

  const fail = (error: unknown) => {
    if (readyState === "closed") return;
    if (ending) return close();
    try {
      if (emitter.listenerCount("error") > 0) emitter.emit("error", error);
      else onOrphanError(error);
    } catch (thrown) {
      onOrphanError(thrown);
    }
    close();
  };
  const close = () => {
    if (readyState === "closed") return;
    readyState = "closed";
    markClosed();
    try {
      emitter.emit("close", false);
    } catch (thrown) {
      onOrphanError(thrown);
    }
  };
  const shutdown = () => {
    ending = true;
    raw.close().catch(() => {});
  };
  // After Terminate the server closes the connection itself. Waiting for that, instead of closing under a pending
  // read, avoids the rejection workerd reports as unhandled for every socket closed that way (porsager/postgres#1202).
  const shutdownAfterServer = () => {
    ending = true;
    const force = setTimeout(shutdown, SERVER_CLOSE_GRACE_MS);
    void whenClosed.then(() => {
      clearTimeout(force);
      shutdown();
    });
  };

  // A native pipe rather than a reader loop: workerd reports a pending `reader.read()` rejected by close() as an
  // unhandled rejection ("Stream was cancelled.") even when it is awaited, which is porsager/postgres#1202.
  raw.readable
    .pipeTo(
      new WritableStream<Uint8Array>({
        write(chunk) {
          emitter.emit("data", Buffer.from(chunk));
        },
      }),
    )
    .then(close, fail);
  raw.closed.then(close, fail);
  // workerd rejects these with the same error when the socket closes; unobserved, each is an unhandled rejection.
  for (const settled of [raw.opened, writer.closed, writer.ready]) settled.catch(() => {});

  return Object.assign(emitter, {
    get readyState() {
      return readyState;
    },
    whenClosed,
    write(data: Uint8Array, callback?: () => void): boolean {
      writer.write(data).then(() => callback?.(), fail);
      return true;
    },
    end(data?: Uint8Array): void {
      if (data) writer.write(data).then(shutdownAfterServer, shutdown);
      else shutdown();
    },
    destroy(): void {
      shutdown();
      close();
    },
    // Flow control is left to the stream; Postgres.js only calls these for COPY streams.
    pause(): void {},
    resume(): void {},
  });
}
