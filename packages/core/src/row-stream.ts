import type { EventEmitter } from "node:events";
import type { AdapterContext } from "./adapter.ts";

/** What a driver's streamed query is: an emitter of `fields`, `result` (a row), `end` and `error`, with `stream()`. */
type RowQuery = Pick<EventEmitter, "on" | "emit"> & { stream?: (...args: unknown[]) => unknown };

/** The Readable a query's `stream()` makes: its `_read` asks the driver for more (resumes the socket). */
interface RowReadable {
  _read(this: unknown, ...args: unknown[]): unknown;
}

/**
 * Follows a query whose rows come as events (mysql's and mysql2's `query()` without a callback, and its `stream()`),
 * whose life is the reader's, not one wait for the server:
 * - each wait for the server is bounded by `queryTimeoutMs` (`context.serverWait`): from the query's start, and after
 *   each row while rows are read as events; with `stream()`, only while the stream asks for more (a reader that
 *   pauses, and the driver that pauses the socket for it, is not waiting for the server);
 * - the errors it emits, and so its stream's, are mapped like a query's (typed), so a row stream ends either with its
 *   last row or with a typed error.
 */
export function watchRowStream(context: AdapterContext, query: RowQuery): void {
  new RowStreamWatch(context, query);
}

class RowStreamWatch {
  readonly #context: AdapterContext;
  /** Ends the wait for the server now open, if any. */
  #answered: (() => void) | undefined;
  #streamed = false;
  #over = false;

  constructor(context: AdapterContext, query: RowQuery) {
    this.#context = context;
    const watch = this;
    const { emit, stream } = query;
    query.emit = function (this: unknown, event: string | symbol, ...args: unknown[]) {
      if (event === "error") {
        watch.#end();
        args[0] = context.serverError(args[0]);
      } else if (event === "end") watch.#end();
      else if (event === "result" || event === "fields") watch.#answer();
      return emit.call(this, event, ...args);
    } as typeof emit;
    if (typeof stream === "function") {
      query.stream = function (this: unknown, ...args: unknown[]) {
        const readable = stream.apply(this, args) as RowReadable;
        watch.#streamed = true;
        const read = readable._read;
        readable._read = function (this: unknown, ...readArgs: unknown[]) {
          watch.#wait();
          return read.apply(this, readArgs);
        };
        return readable;
      };
    }
    this.#wait();
  }

  /** A row (or the fields) arrived: the wait is over; read as events, the driver goes on reading at once. */
  #answer(): void {
    this.#answered?.();
    if (!this.#streamed) this.#wait();
  }

  #end(): void {
    this.#over = true;
    this.#answered?.();
  }

  #wait(): void {
    if (this.#over || this.#answered !== undefined) return;
    const answered = new Promise<void>((resolve) => {
      this.#answered = () => {
        this.#answered = undefined;
        resolve();
      };
    });
    // Resolved by the query's own events, an error included: on timeout core discards the connection, and the
    // query's error (its stream's) says so. Nothing to observe here.
    void this.#context.serverWait(answered).catch(() => {});
  }
}
