import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { type GuardSpec, guard, openScope, unwrap } from "../src/for-adapters.ts";

/** A driver's pool client: what the guard must bind when the handle gives it out. */
class FakeClient extends EventEmitter {
  released = false;
  query(text: string, callback?: (error: unknown, rows?: unknown) => void): unknown {
    if (callback) return void queueMicrotask(() => callback(null, [{ text }]));
    return Promise.resolve([{ text }]);
  }
  release(): void {
    this.released = true;
  }
}

/** A driver's pool: gives clients out in every way a driver does. */
class FakePool {
  readonly client = new FakeClient();
  readonly given: unknown[] = [];
  connect(callback?: (error: unknown, client?: FakeClient) => void): unknown {
    if (callback) return void queueMicrotask(() => callback(null, this.client));
    return Promise.resolve(this.client);
  }
  clientNow(): FakeClient {
    return this.client;
  }
  /** What the driver gets back when user code hands it an object. */
  take(object: unknown): void {
    this.given.push(object);
  }
  rows(): Promise<Array<{ id: number }>> {
    return Promise.resolve([{ id: 1 }]);
  }
}

const CLIENT: GuardSpec = { queryMethods: ["query"], nodeCallbacks: true, callIsQuery: false };
const POOL: GuardSpec = { queryMethods: ["rows"], resolvesBound: ["connect"], nodeCallbacks: true, callIsQuery: false };

function guarded() {
  const scope = openScope({ waitUntil() {} });
  const pool = new FakePool();
  const handle = guard(pool, POOL, {
    driver: "pg",
    scope,
    secrets: [],
    bind: (value) => (value instanceof FakeClient ? CLIENT : undefined),
  });
  return { scope, pool, handle };
}

const codeOf = async (run: () => unknown) => {
  try {
    await run();
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
};

describe("guard: everything a handle gives out is bound to its scope", () => {
  it("binds a client that is returned, resolved, or passed to a callback, and keeps it the driver's own", async () => {
    const { scope, pool, handle } = guarded();
    const { resolved, returned, viaCallback } = await scope.run(async () => ({
      resolved: await handle.connect(),
      returned: handle.clientNow(),
      viaCallback: await new Promise<FakeClient>((resolve) =>
        handle.connect((_e, client) => resolve(client as FakeClient)),
      ),
    }));
    for (const client of [resolved, returned, viaCallback] as FakeClient[]) {
      expect(client).not.toBe(pool.client); // a guarded stand-in…
      expect(client).toBeInstanceOf(FakeClient); // …that is still the driver's class
      expect(unwrap(client)).toBe(pool.client);
    }
    // One stand-in per driver object.
    expect(resolved).toBe(returned);
    expect(returned).toBe(viaCallback);
    // Outside the scope's context (still open), the client fails before it reaches the driver.
    expect(await codeOf(() => (resolved as FakeClient).query("select 1"))).toBe("HDK_HANDLE_OUTSIDE_ASYNC_CONTEXT");
    expect(await codeOf(() => (resolved as FakeClient).release())).toBe("HDK_HANDLE_OUTSIDE_ASYNC_CONTEXT");
    expect(pool.client.released).toBe(false);
  });

  it("hands the driver its own objects back, never a stand-in", async () => {
    const { scope, pool, handle } = guarded();
    await scope.run(async () => handle.take(await handle.connect()));
    expect(pool.given).toEqual([pool.client]);
    expect(pool.given[0]).toBe(pool.client);
  });

  it("sends a lifecycle error to a Node-style callback instead of throwing", async () => {
    const { handle } = guarded();
    const error = await new Promise((resolve) => {
      const returned = handle.connect((e) => resolve(e));
      expect(returned).toBeUndefined();
    });
    expect((error as { code: string }).code).toBe("HDK_HANDLE_OUT_OF_SCOPE");
  });

  it("leaves results alone and does not follow promises it was not told to", async () => {
    const { scope, handle } = guarded();
    const rows = await scope.run(() => handle.rows());
    expect(rows).toEqual([{ id: 1 }]);
    expect(unwrap(rows)).toBe(rows);
  });

  it("reads `constructor` and other inherited names from the driver's object, not from an empty overrides map", () => {
    const { handle } = guarded();
    // A plain `{}` of overrides once answered `constructor` with Object (ORMs check `constructor.name`).
    expect(handle.constructor).toBe(FakePool);
    expect(handle.constructor.name).toBe("FakePool");
  });
});

interface LazyQuery {
  values(): LazyQuery;
  then(ok?: (v: unknown) => unknown, ko?: (e: unknown) => unknown): Promise<unknown>;
}

/** A driver whose query never settles (Postgres.js 3.4.10 on a connection whose socket it already dropped). */
class StuckDriver {
  aborted: unknown[] = [];
  /** Late settles, for the test to run after the timeout was reported. */
  readonly late: Array<() => void> = [];
  /** A plain Promise. */
  query(): Promise<never> {
    return new Promise((_resolve, reject) => this.late.push(() => reject(new Error("driver: late"))));
  }
  /** A lazy query object with methods of its own (Postgres.js's PendingQuery): runs once awaited. */
  lazy(): LazyQuery {
    const late = this.late;
    return {
      values() {
        return this;
      },
      // biome-ignore lint/suspicious/noThenProperty: a driver's lazy query object is a thenable.
      then(ok, ko) {
        return new Promise((_resolve, reject) => late.push(() => reject(new Error("driver: late")))).then(ok, ko);
      },
    };
  }
  /** Node-style callback. */
  call(callback: (error: unknown, rows?: unknown) => void): void {
    this.late.push(() => callback(new Error("driver: late")));
  }
}

describe("guard: the query timeout holds when the driver never settles the query (issue 32)", () => {
  const STUCK: GuardSpec = { queryMethods: ["query", "lazy", "call"], nodeCallbacks: true, callIsQuery: false };
  function stuck() {
    const waits: Promise<unknown>[] = [];
    const events: string[] = [];
    const scope = openScope(
      { waitUntil: (promise: Promise<unknown>) => void waits.push(promise) },
      // Longer than the test's own timeout: teardown finishes in time only if no query is left in flight.
      { teardownTimeoutMs: 60_000, onEvent: (event) => void events.push(event.type) },
    );
    const driver = new StuckDriver();
    const handle = guard(driver, STUCK, {
      driver: "postgres",
      scope,
      secrets: [],
      queryTimeoutMs: 20,
      abort: (error) => void driver.aborted.push(error), // the driver fails nothing: its socket is already gone
    });
    /** Runs the callback's end and teardown: resolves once no query is in flight. */
    const teardown = async () => {
      await scope.settle(undefined);
      await Promise.all(waits);
      return scope.queriesCut;
    };
    return { scope, driver, handle, events, teardown };
  }

  it("rejects a plain promise with HDK_TIMEOUT, and the query is no longer in flight", async () => {
    const { scope, driver, handle, teardown } = stuck();
    const error = await scope.run(() => handle.query().catch((e: unknown) => e));
    expect((error as { code: string }).code).toBe("HDK_TIMEOUT");
    expect(driver.aborted).toEqual([error]);
    for (const settle of driver.late) settle(); // a late settle is ignored
    expect(await teardown()).toBe(false);
  });

  it("rejects a lazy query object with HDK_TIMEOUT and keeps its own methods", async () => {
    const { scope, driver, handle, teardown } = stuck();
    const error = await scope.run(async () => {
      const query = handle.lazy();
      expect(typeof query.values).toBe("function");
      return query.values().then(undefined, (e: unknown) => e);
    });
    expect((error as { code: string }).code).toBe("HDK_TIMEOUT");
    expect(driver.aborted).toEqual([error]);
    for (const settle of driver.late) settle();
    expect(await teardown()).toBe(false);
  });

  it("calls a callback once with HDK_TIMEOUT, not again when the driver calls back late", async () => {
    const { scope, driver, handle, events, teardown } = stuck();
    const calls: unknown[] = [];
    const first = await scope.run(
      () => new Promise((resolve) => handle.call((error) => resolve(calls.push(error) && error))),
    );
    expect((first as { code: string }).code).toBe("HDK_TIMEOUT");
    for (const settle of driver.late) settle();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(calls).toEqual([first]);
    expect(await teardown()).toBe(false);
    // One error event and one query event for the one timed-out query.
    expect(events.filter((type) => type === "error")).toHaveLength(1);
    expect(events.filter((type) => type === "query")).toHaveLength(1);
  });
});
