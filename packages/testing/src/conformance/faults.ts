/**
 * The fault suite every adapter's test file calls: real faults (a backend killed mid-query, the server stopped and
 * started, a proxy that delays, blackholes and resets, a fake origin answering like a failing Hyperdrive), run
 * inside workerd against the conformance Worker. After every fault the Worker must keep serving, with no unhandled
 * rejection and no connection left behind; and nothing the library lets out may contain a password or a
 * connection string.
 */
import { env } from "cloudflare:workers";
import { type CatalogEntry, catalog } from "@hyperdrive-kit/core";
import { expect, inject, it } from "vitest";
import type { FakeOriginOptions } from "../fake-origin/index.ts";
import type { FaultMode } from "../proxy/index.ts";
import { call, eventually } from "./suite.ts";

type Json = Record<string, unknown>;

/** The errors a fault may end in: catalogue codes, or (for the database's own answer) a SQLSTATE / errno. */
export interface FaultExpectations {
  /** The database engine: PostgreSQL adapters also meet the server's class 57 answers (shutdown, cannot connect now). */
  engine: "postgres" | "mysql";
  /** A backend killed while a query runs on it. */
  killedMidQuery: readonly string[];
  /** The database stopped while a query runs. */
  stoppedMidQuery: readonly string[];
  /** The proxy resets the connection after some bytes of the server's answer. */
  reset: readonly string[];
  /** The proxy accepts and resets at once. */
  refused: readonly string[];
  /** Reset at every byte of the end of the answer (the query's, and the startup's last messages), twice over. */
  resetSweep?: boolean;
}

/**
 * Where each real fault ends on node-postgres: a killed backend or a stopped database sends 57P01 (the database's
 * own error, passed through); a connection reset before the answer is a refused connect.
 */
export const pgFaultExpectations: FaultExpectations = {
  engine: "postgres",
  killedMidQuery: ["HDK_CONNECTION_LOST"],
  stoppedMidQuery: ["HDK_CONNECTION_LOST"],
  // Early in the handshake: refused; inside the query's answer, on an established connection: lost.
  reset: ["HDK_CONNECT_REFUSED", "HDK_CONNECTION_LOST"],
  refused: ["HDK_CONNECT_REFUSED"],
};

/** The same on Postgres.js, which may see the socket close before it reads the 57P01. */
export const postgresJsFaultExpectations: FaultExpectations = {
  engine: "postgres",
  killedMidQuery: ["HDK_CONNECTION_LOST", "HDK_POSTGRES_CONNECTION_CLOSED"],
  stoppedMidQuery: ["HDK_CONNECTION_LOST", "HDK_POSTGRES_CONNECTION_CLOSED"],
  reset: ["HDK_CONNECT_REFUSED", "HDK_CONNECTION_LOST", "HDK_POSTGRES_CONNECTION_CLOSED"],
  refused: ["HDK_CONNECT_REFUSED"],
  // A reset inside the startup's last ReadyForQuery once waited for the connect bound on Postgres.js 4.
  resetSweep: true,
};

const HYPERDRIVE_ERRORS = [
  ["Internal error.", "HDK_HYPERDRIVE_INTERNAL"],
  ["Failed to acquire a connection from the pool.", "HDK_HYPERDRIVE_POOL_EXHAUSTED"],
  ["Server connection attempt failed: connection_refused", "HDK_HYPERDRIVE_ORIGIN_REFUSED"],
] as const;

/** What the test can cheaply bound a connect attempt to; the library's default is 10 s. */
const CONNECT_TIMEOUT_MS = 500;
/** The reset sweep's connect bound: far above a busy machine's connect, so only an unseen reset reaches it. */
const SWEEP_CONNECT_TIMEOUT_MS = 5_000;

export async function control(path: string, body?: unknown): Promise<Json> {
  const response = await fetch(`${inject("controlUrl")}${path}`, {
    method: body === undefined ? "GET" : "POST",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`fault control ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as Json;
}

export const setProxy = (mode: FaultMode) => control("/proxy/mode", { mode, resetAll: true });
const setOrigin = (options: FakeOriginOptions) => control("/origin", options);

/** What a failed call ended in: its catalogue code, else the database's SQLSTATE or errno. */
const outcomeOf = (body: Json) => String(body.code ?? body.sqlState ?? body.errno ?? body.driverCode ?? body.message);

/** Every secret the tests handed out: each binding's password and full connection string, as given and as bound. */
function secrets(): string[] {
  const found = new Set<string>();
  for (const url of Object.values(inject("hyperdrives"))) {
    found.add(url);
    found.add(decodeURIComponent(new URL(url).password));
  }
  for (const value of Object.values(env as Record<string, unknown>)) {
    const binding = value as { password?: unknown; connectionString?: unknown };
    if (typeof binding?.password === "string") found.add(binding.password);
    if (typeof binding?.connectionString === "string") found.add(binding.connectionString);
  }
  return [...found].filter((secret) => secret.length >= 8);
}

/** The Worker still answers, the server and the proxy hold no connection of ours, nothing went unhandled. */
export async function expectRecovered(): Promise<void> {
  expect(await call("/query")).toEqual({ one: 1 });
  const left = await eventually(
    async () => ({
      server: ((await call("/connections")) as { n: number }).n,
      proxy: (await control("/proxy")).connections as number,
    }),
    (n) => n.server === 0 && n.proxy === 0,
  );
  expect(left).toEqual({ server: 0, proxy: 0 });
  expect((await call("/unhandled")).unhandled).toEqual([]);
}

/** The test database's binding with the password left out (a binding object: options travel as JSON). */
function emptyPassword(): Json {
  const { connectionString, host, port, user, database } = (env as unknown as { HYPERDRIVE: Hyperdrive }).HYPERDRIVE;
  const url = new URL(connectionString);
  url.password = "";
  return { connectionString: url.toString(), host, port, user, password: "", database };
}

/** A failure case that takes one request: how to provoke it, and the codes it may end in. */
interface FailureCase {
  name: string;
  path?: string;
  options: Json;
  before?: () => Promise<unknown>;
  codes: readonly string[];
}

function failureCases(expected: FaultExpectations, resetBudgets: readonly number[]): FailureCase[] {
  const viaProxy = { binding: "VIA_PROXY", connectTimeoutMs: CONNECT_TIMEOUT_MS };
  return [
    { name: "database down (nothing listens)", options: { binding: "DOWN" }, codes: ["HDK_CONNECT_REFUSED"] },
    {
      name: "database hangs (accepts, never answers)",
      options: { binding: "HANGS", connectTimeoutMs: CONNECT_TIMEOUT_MS },
      codes: ["HDK_TIMEOUT"],
    },
    { name: "wrong password", options: { binding: "BAD_PASSWORD" }, codes: ["HDK_CONFIG_INVALID_CREDENTIALS"] },
    {
      // Drivers that refuse the login themselves (pg's SCRAM code: "client password must be a string") used to wait
      // for the server's authentication_timeout, untyped; every driver must fail at once, typed.
      name: "empty password",
      options: { binding: emptyPassword(), connectTimeoutMs: CONNECT_TIMEOUT_MS * 4 },
      codes: ["HDK_CONFIG_INVALID_CREDENTIALS"],
    },
    {
      // On MariaDB the test user is granted on its own database only, so the server answers 1044 (access denied to
      // the database), not 1049 (unknown database): both mean this code at the handshake.
      name: "database does not exist",
      options: { binding: "BAD_DATABASE" },
      codes: ["HDK_CONFIG_DATABASE_NOT_FOUND"],
    },
    {
      name: "proxy blackholes",
      options: viaProxy,
      before: () => setProxy({ kind: "blackhole" }),
      codes: ["HDK_TIMEOUT"],
    },
    {
      name: "proxy delays every chunk past the connect timeout",
      options: viaProxy,
      before: () => setProxy({ kind: "delay", ms: CONNECT_TIMEOUT_MS * 3 }),
      codes: ["HDK_TIMEOUT"],
    },
    {
      name: "proxy accepts and resets at once",
      options: viaProxy,
      before: () => setProxy({ kind: "refuse" }),
      codes: expected.refused,
    },
    ...resetBudgets.map((bytes) => ({
      name: `proxy resets after ${bytes} bytes of the server's answer`,
      options: viaProxy,
      before: () => setProxy({ kind: "reset-after", bytes }),
      codes: expected.reset,
    })),
    ...HYPERDRIVE_ERRORS.flatMap(([message, code]) => [
      {
        name: `Hyperdrive answers a query with 58000 "${message}"`,
        options: { binding: "FAKE_ORIGIN" },
        before: () => setOrigin({ error: message }),
        codes: [code],
      },
      {
        name: `Hyperdrive fails the connection with "${message}"`,
        options: { binding: "FAKE_ORIGIN" },
        before: () => setOrigin({ error: message, failAt: "startup" }),
        codes: [code],
      },
    ]),
    {
      name: "backend killed mid-query",
      path: "/kill-mid-query",
      options: {},
      codes: expected.killedMidQuery,
    },
    { name: "invalid connectTimeoutMs", options: { connectTimeoutMs: -1 }, codes: ["HDK_INVALID_OPTION"] },
  ];
}

/** Runs one failure case; returns the failed call's body. */
async function provoke(failure: FailureCase): Promise<Json> {
  await failure.before?.();
  try {
    return await call(failure.path ?? "/query", failure.options);
  } finally {
    // Back to the defaults the adapters' own tests expect.
    await setProxy({ kind: "pass" });
    await setOrigin({});
  }
}

/**
 * A fault met by a handle used correctly, inside its own request, must not be blamed on reuse: where the catalogue
 * has a fix for that situation (a connection dropped mid-request), the message carries it. And no driver's
 * `host:port` may come out as `undefined:undefined`.
 */
function expectFixThatFits(name: string, body: Json): void {
  const entry = typeof body.code === "string" ? (catalog as Record<string, CatalogEntry>)[body.code] : undefined;
  if (entry?.fixInRequest) expect.soft(String(body.message), name).toContain(entry.fixInRequest);
  expect.soft(String(body.message), name).not.toContain("undefined:undefined");
}

/** What an integration cannot do yet, said where its test file calls the suite. */
export interface FaultGaps {
  /**
   * Work handed to `ctx.waitUntil` without awaiting reaches the handle only after teardown began (Kysely acquires its
   * connection asynchronously): the reason, shown in the test's name. Issue 32 §1.8, open for Kysely.
   */
  unawaitedWork?: string;
}

export function describeFaults(expected: FaultExpectations, gaps: FaultGaps = {}): void {
  // Bytes the server sends through the proxy for one `/query` request: resets are cut inside that answer.
  let resetBudgets: number[] = [];

  it("measures one request through the fault proxy", async () => {
    await setProxy({ kind: "pass" });
    const before = (await control("/proxy")).bytesToClient as number;
    expect(await call("/query", { binding: "VIA_PROXY" })).toEqual({ one: 1 });
    const total = ((await control("/proxy")).bytesToClient as number) - before;
    expect(total).toBeGreaterThan(8);
    // Early in the handshake, mid-way, and inside the query's answer.
    resetBudgets = [1, Math.floor(total / 2), total - 4];
    console.log(`[faults] one request through the proxy: ${total} bytes from the server`);
  });

  it("still answers through a proxy that delays every chunk within the connect timeout", async () => {
    await setProxy({ kind: "delay", ms: 50 });
    try {
      expect(await call("/query", { binding: "VIA_PROXY", connectTimeoutMs: 5_000 })).toEqual({ one: 1 });
    } finally {
      await setProxy({ kind: "pass" });
    }
    await expectRecovered();
  });

  // Defined only where asked for: a test skipped elsewhere would read as a gap.
  if (expected.resetSweep) {
    it("resets near the end of the server's answer end in a connection code, every time", async () => {
      // Every budget over the query's answer and the end of the startup (its last ReadyForQuery): a reset at the end
      // of the startup once went unseen until the connect bound on Postgres.js 4. Each must fail typed, at once.
      expect(resetBudgets.length, "the request through the proxy was not measured").toBeGreaterThan(0);
      const total = (resetBudgets.at(-1) ?? 0) + 4;
      const seen: string[] = [];
      for (let round = 0; round < 2; round++) {
        for (let bytes = Math.max(1, total - 120); bytes < total; bytes++) {
          await setProxy({ kind: "reset-after", bytes });
          let body: Json;
          try {
            // A bound far above a connect on a busy machine (one took over 500 ms at load 17): a reset that goes
            // unseen still ends in HDK_TIMEOUT, which fails the test, and one that is seen never waits for it.
            body = await call("/query", { binding: "VIA_PROXY", connectTimeoutMs: SWEEP_CONNECT_TIMEOUT_MS });
          } finally {
            await setProxy({ kind: "pass" });
          }
          seen.push(`${bytes}/${total} → ${outcomeOf(body)}`);
          expect
            .soft(expected.reset, `reset after ${bytes} of ${total} bytes: ${JSON.stringify(body)}`)
            .toContain(outcomeOf(body));
        }
      }
      console.log(`[faults] resets near the end of the answer:\n  ${seen.join("\n  ")}`);
      await expectRecovered();
    });
  }

  it("ends every single-request fault in its typed error, then keeps serving with nothing left behind", async () => {
    const seen: string[] = [];
    for (const failure of failureCases(expected, resetBudgets)) {
      const started = Date.now();
      const body = await provoke(failure);
      seen.push(`${failure.name} → ${outcomeOf(body)} (${body.ms} ms)`);
      // Soft: one run reports every case that is off, not only the first.
      expect.soft(failure.codes, `${failure.name}: ${JSON.stringify(body)}`).toContain(outcomeOf(body));
      expectFixThatFits(failure.name, body);
      if (outcomeOf(body) === "HDK_TIMEOUT") {
        // Bounded by the configured timeout (plus scheduling slack), not a hang.
        expect.soft(body.ms).toBeGreaterThanOrEqual(CONNECT_TIMEOUT_MS - 50);
        expect.soft(body.ms).toBeLessThan(CONNECT_TIMEOUT_MS + 5_000);
      }
      await expectRecovered();
      console.log(`[faults] ${seen.at(-1)}; recovered after ${Date.now() - started} ms`);
    }
  });

  it("survives the database stopping during a run of requests and starting again", async () => {
    const outcomes: string[] = [];
    // A query in flight when the server goes down: halted only once the server runs it, so the stop lands on the
    // query in every interleaving (waiting for any connection saw one still closing, or one not yet past its
    // handshake, on a busy machine: the stop then landed before the connect).
    const inFlight = call("/sleep", undefined, "seconds=5");
    const sleeping = await eventually(
      async () => ((await call("/sleeping")) as { n: number }).n,
      (n) => n > 0,
      30_000,
    );
    expect(sleeping, "the sleep never started on the server").toBeGreaterThan(0);
    await control("/server/halt", {});
    try {
      const stopped = await inFlight;
      outcomes.push(`in flight → ${outcomeOf(stopped)}`);
      expect(expected.stoppedMidQuery, JSON.stringify(stopped)).toContain(outcomeOf(stopped));
      expectFixThatFits("in flight when the database stopped", stopped);
      for (let i = 0; i < 5; i++) {
        const down = await call("/query");
        outcomes.push(`while stopped → ${outcomeOf(down)}`);
        expect(down.code, JSON.stringify(down)).toBe("HDK_CONNECT_REFUSED");
      }
    } finally {
      await control("/server/resume", {});
    }
    for (let i = 0; i < 5; i++) expect(await call("/query")).toEqual({ one: 1 });
    outcomes.push("after restart → 5 of 5 answered");
    console.log(`[faults] database stopped and started:\n  ${outcomes.join("\n  ")}`);
    await expectRecovered();
  });

  it("settles a query after a failed connect at once, typed: the catch → rollback idiom never hangs", async () => {
    const body = await call("/after-failed-connect", { binding: "DOWN" });
    const { begin, rollback } = body as { begin: { result: string }; rollback: { result: string } };
    console.log(`[faults] after a failed connect: ${JSON.stringify(body)}`);
    expect(begin.result, JSON.stringify(body)).toBe("HDK_CONNECT_REFUSED");
    expect(rollback.result, JSON.stringify(body)).toMatch(/^HDK_/);
    await expectRecovered();
  });

  it("reports a reset in the middle of a running query as a lost connection whose query may or may not have run", async () => {
    await setProxy({ kind: "pass" });
    let body: Json;
    try {
      body = await call(
        "/reset-mid-query",
        { binding: "VIA_PROXY" },
        `control=${encodeURIComponent(inject("controlUrl"))}`,
      );
    } finally {
      await setProxy({ kind: "pass" });
    }
    console.log(`[faults] reset mid-query → ${outcomeOf(body)}`);
    expect(body.category, JSON.stringify(body)).toBe("connection");
    expect(["HDK_CONNECT_REFUSED", "HDK_TIMEOUT"], JSON.stringify(body)).not.toContain(body.code);
    expect(String(body.message)).toContain("may or may not have run");
    await expectRecovered();
  });

  if (gaps.unawaitedWork === undefined) {
    it("lets work handed to ctx.waitUntil inside the callback finish: teardown waits for queries in flight", async () => {
      const token = crypto.randomUUID();
      expect(await call("/late-query", {}, `token=${token}&seconds=1`)).toEqual({ started: true });
      const { outcome } = await eventually(
        () => call("/late-result", {}, `token=${token}`),
        (result) => result.outcome !== null,
        30_000,
      );
      expect(outcome).toBe("ok");
      await expectRecovered();
    });

    it("bounds that wait by teardownTimeoutMs: a query still running then is cut, typed, with nothing left behind", async () => {
      const token = crypto.randomUUID();
      expect(await call("/late-query", { teardownTimeoutMs: 300 }, `token=${token}&seconds=3`)).toEqual({
        started: true,
      });
      const { outcome } = await eventually(
        () => call("/late-result", {}, `token=${token}`),
        (result) => result.outcome !== null,
        30_000,
      );
      console.log(`[faults] a query still running when teardownTimeoutMs ran out → ${outcome}`);
      // Finished (a pool's end() waits for its clients and nothing cut the query), or cut and said so.
      expect(["ok", "HDK_TEARDOWN_TIMEOUT"]).toContain(outcome);
      await expectRecovered();
    });
  } else {
    it(`does not yet let unawaited work finish: ${gaps.unawaitedWork}`, async () => {
      // Documents the gap with what happens instead: typed, bounded, nothing left behind.
      const token = crypto.randomUUID();
      expect(await call("/late-query", {}, `token=${token}&seconds=1`)).toEqual({ started: true });
      const { outcome } = await eventually(
        () => call("/late-result", {}, `token=${token}`),
        (result) => result.outcome !== null,
        30_000,
      );
      expect(String(outcome)).toMatch(/^(ok|HDK_)/);
      await expectRecovered();
    });
  }

  if (expected.engine === "postgres") {
    it("types PostgreSQL's class 57 answers alike, SQLSTATE kept: 57P03 at connect is refused, 57P01 is a lost connection", async () => {
      const cases = [
        {
          code: "57P03",
          failAt: "startup",
          error: "the database system is starting up",
          expect: "HDK_CONNECT_REFUSED",
        },
        {
          code: "57P03",
          failAt: "startup",
          error: "the database system is shutting down",
          expect: "HDK_CONNECT_REFUSED",
        },
        {
          code: "57P01",
          failAt: "query",
          error: "terminating connection due to administrator command",
          expect: "HDK_CONNECTION_LOST",
        },
        {
          code: "57P02",
          failAt: "query",
          error: "terminating connection because of crash of another server process",
          expect: "HDK_CONNECTION_LOST",
        },
      ] as const;
      for (const { expect: code, ...answer } of cases) {
        const body = await provoke({
          name: answer.error,
          options: { binding: "FAKE_ORIGIN" },
          before: () => setOrigin(answer),
          codes: [code],
        });
        console.log(`[faults] ${answer.code} at ${answer.failAt} → ${outcomeOf(body)} (sqlState ${body.sqlState})`);
        // Postgres.js keeps a FATAL ErrorResponse until a ReadyForQuery that never comes, and reports the close
        // (CONNECTION_CLOSED, the same lost-connection fix) without the SQLSTATE.
        const codes = code === "HDK_CONNECTION_LOST" ? expected.killedMidQuery : [code];
        expect.soft(codes, JSON.stringify(body)).toContain(body.code);
        if (body.code === code) expect.soft(body.sqlState, JSON.stringify(body)).toBe(answer.code);
        expect.soft(body.retryable, JSON.stringify(body)).toBe(true);
        expectFixThatFits(answer.error, body);
      }
      // A real backend killed mid-query: 57P01, the same code, SQLSTATE kept where the driver read it.
      const killed = await call("/kill-mid-query");
      expect(expected.killedMidQuery, JSON.stringify(killed)).toContain(outcomeOf(killed));
      if (killed.code === "HDK_CONNECTION_LOST") expect(killed.sqlState).toBe("57P01");
      await expectRecovered();
    });
  }

  it("lets no password or connection string out: messages, toString, JSON, cause chains, events, console", async () => {
    await call("/outputs"); // start clean: only what this test provokes is searched
    const misuse = async () => {
      await call("/stash");
      await call("/reuse");
      await call("/reuse-in-scope");
      await call("/after-teardown");
      await call("/query", { binding: "NOPE" });
      await call("/query", { binding: "NOT_A_BINDING" });
    };
    const cases = failureCases(expected, resetBudgets.length ? resetBudgets : [1]);
    for (const failure of cases) await provoke(failure);
    await misuse();
    const outputs = (await call("/outputs")) as unknown as string[];
    const hidden = secrets();
    // The sweep looks where secrets would be: it saw each failure, rendered in full.
    expect(hidden.length).toBeGreaterThanOrEqual(8);
    expect(outputs.length).toBeGreaterThan(cases.length * 3);
    const leaks = outputs.flatMap((output, i) =>
      hidden.filter((secret) => output.includes(secret)).map(() => `output ${i}: ${output.slice(0, 300)}`),
    );
    console.log(
      `[faults] redaction sweep: ${cases.length + 6} failures, ${outputs.length} outputs, ${hidden.length} secrets, ${leaks.length} leaks`,
    );
    expect(leaks).toEqual([]);
    expect((await call("/unhandled")).unhandled).toEqual([]);
  });

  it("left no unhandled rejection anywhere in this isolate's run", async () => {
    const { unhandled, total, runtimeSocketLoss } = await call("/unhandled");
    console.log(
      `[faults] unhandled rejections over the whole run: ${total}; workerd's own uncatchable socket-loss rejections on peer resets (runtime-socket-loss.ts): ${runtimeSocketLoss}`,
    );
    expect(unhandled).toEqual([]);
    expect(total).toBe(0);
  });
}
