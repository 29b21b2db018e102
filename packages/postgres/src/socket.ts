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
  write(data: Uint8Array, callback?: () => void): boolean;
  end(data?: Uint8Array): void;
  destroy(): void;
  pause(): void;
  resume(): void;
}

export async function openSocket(
  host: string,
  port: number,
  onOrphanError: (error: unknown) => void,
): Promise<PostgresSocket> {
  const { connect } = await import("cloudflare:sockets");
  const raw = connect({ hostname: host, port });
  const writer = raw.writable.getWriter();
  const reader = raw.readable.getReader();
  let readyState: "open" | "closed" = "open";
  const emitter = new EventEmitter();

  const fail = (error: unknown) => {
    if (readyState === "closed") return;
    if (emitter.listenerCount("error") > 0) emitter.emit("error", error);
    else onOrphanError(error);
    close();
  };
  const close = () => {
    if (readyState === "closed") return;
    readyState = "closed";
    emitter.emit("close", false);
  };
  const shutdown = () => {
    raw.close().catch(() => {});
  };

  void (async () => {
    try {
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) break;
        emitter.emit("data", Buffer.from(chunk.value));
      }
      close();
    } catch (error) {
      fail(error);
    }
  })();
  raw.closed.then(close, fail);

  return Object.assign(emitter, {
    get readyState() {
      return readyState;
    },
    write(data: Uint8Array, callback?: () => void): boolean {
      writer.write(data).then(() => callback?.(), fail);
      return true;
    },
    end(data?: Uint8Array): void {
      if (data) writer.write(data).then(shutdown, shutdown);
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
