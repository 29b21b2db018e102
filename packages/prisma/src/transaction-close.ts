/**
 * workerd checks for unhandled rejections in a microtask queued when a promise rejects without a handler
 * (`UnhandledRejectionHandler` in workerd's jsg/promise.c++), where Node.js waits for the microtask queue to drain. A
 * promise returned from a `then` handler gets its handler a microtask after it is made, so a rejected one is reported
 * as unhandled although its rejection goes on. Prisma 7's failed COMMIT does that when the transaction's connection
 * is lost (`transaction.rollback().then(fail, fail)` with `fail = () => Promise.reject(error)`; the error still
 * reaches `$transaction`'s caller).
 */

/** What Prisma gets from a driver adapter factory: connected adapters that start transactions that close. */
interface ClosingTransaction {
  commit(): Promise<void>;
  rollback(): Promise<void>;
}
interface TransactionStarter {
  startTransaction(...args: never[]): Promise<ClosingTransaction>;
}
interface AdapterFactory {
  connect(): Promise<TransactionStarter>;
}

/**
 * A promise whose `then` handlers' own promises are marked handled when the handlers return them: the promise `then`
 * made adopts their outcome (a rejection included), and the caller handles that one, or not, as before. Its `then`
 * makes plain promises. A subclass, not a `then` set on a promise: that would turn off V8's fast path for every await.
 */
class AdoptingPromise<T> extends Promise<T> {
  static override get [Symbol.species](): PromiseConstructor {
    return Promise;
  }

  // biome-ignore lint/suspicious/noThenProperty: a promise's own `then`, made to mark what its handlers return handled.
  override then<A = T, B = never>(
    onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return super.then(adopted(onFulfilled), adopted(onRejected));
  }
}

function adopted<V, R>(handler: ((value: V) => R) | null | undefined): ((value: V) => R) | null | undefined {
  if (typeof handler !== "function") return handler;
  return (value) => {
    const result = handler(value);
    if (result instanceof Promise) result.catch(ignore);
    return result;
  };
}

/**
 * `promise` as an {@link AdoptingPromise}, subscribed to at once: `AdoptingPromise.resolve()` would subscribe a
 * microtask later, and a close that failed at once (a release refused after teardown) was reported as unhandled.
 */
function adopting<T>(promise: Promise<T>): AdoptingPromise<T> {
  return new AdoptingPromise<T>((resolve, reject) => {
    promise.then(resolve, reject);
  });
}

function ignore(): void {}

/**
 * Makes the transactions `factory`'s adapters start close with {@link AdoptingPromise}s, so a failed COMMIT's
 * rollback chain in Prisma is not reported as an unhandled rejection. Returns `factory`.
 */
export function containTransactionClose<Factory extends object>(factory: Factory): Factory {
  const target = factory as unknown as AdapterFactory;
  const { connect } = target;
  target.connect = async function (this: AdapterFactory) {
    const adapter = await connect.call(this);
    const { startTransaction } = adapter;
    adapter.startTransaction = async function (this: TransactionStarter, ...args: never[]) {
      const transaction = await startTransaction.apply(this, args);
      const { commit, rollback } = transaction;
      transaction.commit = function (this: ClosingTransaction) {
        return adopting(commit.call(this));
      };
      transaction.rollback = function (this: ClosingTransaction) {
        return adopting(rollback.call(this));
      };
      return transaction;
    };
    return adapter;
  };
  return factory;
}
