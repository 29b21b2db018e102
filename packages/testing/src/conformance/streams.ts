/**
 * The row-stream suite of adapters (and integrations) that read rows at the reader's pace (pg-cursor, Postgres.js
 * `cursor()`, mysql's and mysql2's `query().stream()`, Kysely's `stream()`): a bound covers one wait for the server,
 * not a stream's life, and a fault that lands on a stream while it is read ends it in a typed error. A stream never
 * ends early without an error, and never hangs. Runs inside workerd against the conformance Worker's `/stream-rows`.
 */
import { expect, inject, it } from "vitest";
import { control, expectRecovered, setProxy } from "./faults.ts";
import { call } from "./suite.ts";

interface StreamRead {
  /** `end`, a catalogue code, `hung` (no answer in 20 s) or `untyped: …`. */
  outcome: string;
  rows: number;
  of: number;
}

/** A result large enough that the server is still sending it when the fault lands (socket buffers hold the rest). */
const LARGE = { rows: 2000, width: 2000 };

const read = (options: Record<string, unknown>, query: Record<string, string | number>) =>
  call(
    "/stream-rows",
    options,
    new URLSearchParams({ control: inject("controlUrl"), ...query } as Record<string, string>).toString(),
  ) as unknown as Promise<StreamRead>;

/** Every row, or a typed error: never an end without every row, never a hang, never a raw driver error. */
function expectEndedRightly(name: string, body: StreamRead, codes: readonly string[]): void {
  console.log(`[streams] ${name} → ${body.outcome} after ${body.rows} of ${body.of} rows`);
  if (body.outcome === "end") expect(body.rows, JSON.stringify(body)).toBe(body.of);
  else expect(codes, JSON.stringify(body)).toContain(body.outcome);
}

/** `codes`: the typed errors a stream cut by a lost connection may end in (see `FaultExpectations.reset`). */
export function describeStreams(codes: readonly string[]): void {
  it("reads a row stream slower than queryTimeoutMs to its last row: the bound is one wait for the server", async () => {
    // 40 rows at 50 ms each (more than a stream buffers, so the driver pauses the connection): four times the bound
    // over the stream's life, each wait for the server well within it.
    const body = await read({ queryTimeoutMs: 500 }, { rows: 40, slow: 40, rowMs: 50 });
    console.log(`[streams] slow reader, queryTimeoutMs 500 → ${body.outcome} after ${body.rows} rows`);
    expect(body).toMatchObject({ outcome: "end", rows: 40 });
    await expectRecovered();
  });

  it("ends a row stream typed when its connection is reset while it is read", async () => {
    await setProxy({ kind: "pass" });
    try {
      const body = await read({ binding: "VIA_PROXY" }, { ...LARGE, slow: 3, rowMs: 50, fault: "reset" });
      expectEndedRightly("reset mid-stream", body, codes);
    } finally {
      await setProxy({ kind: "pass" });
    }
    await expectRecovered();
  });

  it("ends a row stream typed when the database stops while it is read", async () => {
    try {
      const body = await read({}, { ...LARGE, slow: 3, rowMs: 50, fault: "halt" });
      expectEndedRightly("database stopped mid-stream", body, [...codes, "HDK_CONNECT_REFUSED"]);
    } finally {
      await control("/server/resume", {});
    }
    await expectRecovered();
  });

  it("bounds each wait of a row stream by queryTimeoutMs: a stalled server ends it typed", async () => {
    await setProxy({ kind: "pass" });
    try {
      // The proxy stalls both directions after the first row: only the bound on the wait can end the stream.
      const body = await read(
        { binding: "VIA_PROXY", queryTimeoutMs: 1_000 },
        { ...LARGE, slow: 1, rowMs: 0, fault: "stall" },
      );
      expectEndedRightly("server stalled mid-stream, queryTimeoutMs 1000", body, ["HDK_TIMEOUT"]);
    } finally {
      await setProxy({ kind: "pass" });
    }
    await expectRecovered();
  });
}
