/** One request to the soak Worker and what it ended in, as the soak counts it. */
import { CONNECT_TIMEOUT_MS, CURSOR_ROW_MS, CURSOR_ROWS, QUERY_TIMEOUT_MS } from "../worker/target.ts";

export type Kind = "ok" | "typed" | "database" | "untyped";

export interface Result {
  target: string;
  scenario: string;
  /** A recovery probe after a fault, not part of the load. */
  probe: boolean;
  status: number;
  kind: Kind;
  /** The error's code (a HyperdriveError's, a SQLSTATE, or what an untyped error carried). */
  code: string;
  message?: string;
  /** For a misuse: the code the kept handle was refused with. */
  refused?: string;
  start: number;
  ms: number;
  hung: boolean;
  endedEarly: boolean;
  syncThrow: boolean;
  overBound: boolean;
  secret: boolean;
}

/** The longest a scenario may take when every wait is bounded: connect, then its queries one after another. */
const q = QUERY_TIMEOUT_MS;
export const BOUND_MS: Record<string, number> = {
  query: CONNECT_TIMEOUT_MS + q,
  misuse: CONNECT_TIMEOUT_MS + 2 * q,
  long: CONNECT_TIMEOUT_MS + q,
  // pg's Client runs the three one after another.
  parallel: CONNECT_TIMEOUT_MS + 3 * q,
  // begin, insert, sleep, commit, and a rollback after a failure.
  transaction: CONNECT_TIMEOUT_MS + 5 * q,
  // two queries, a cursor's reads of five rows (or a query per five rows), the rows' pauses.
  stream: CONNECT_TIMEOUT_MS + (2 + CURSOR_ROWS / 5 + 1) * q + CURSOR_ROWS * CURSOR_ROW_MS,
};
/** What the client waits before it gives up on a request: far past every bound, short of Hyperdrive's 60 s. */
const CLIENT_TIMEOUT_MS = 45_000;
const HUNG = /code had hung|would never generate a response/;

interface Body {
  ok?: boolean;
  kind?: Kind;
  code?: string;
  message?: string;
  refused?: string;
  syncThrow?: boolean;
}

function streamOutcome(text: string): Pick<Result, "kind" | "code" | "message" | "endedEarly"> {
  const last = text.trimEnd().split("\n").at(-1) ?? "";
  if (last === `END ${CURSOR_ROWS}`) return { kind: "ok", code: "", endedEarly: false };
  if (last.startsWith("ERR ")) {
    const outcome = JSON.parse(last.slice(4)) as Body;
    return { kind: outcome.kind ?? "untyped", code: outcome.code ?? "", message: outcome.message, endedEarly: false };
  }
  return { kind: "untyped", code: "ENDED_EARLY", message: `last line: ${last.slice(0, 80)}`, endedEarly: true };
}

export async function send(
  origin: string,
  target: string,
  scenario: string,
  secrets: readonly string[],
  probe = false,
): Promise<Result> {
  const start = Date.now();
  const started = performance.now();
  let status = 0;
  let text = "";
  let failure: unknown;
  try {
    const response = await fetch(`${origin}/${target}/${scenario}`, { signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS) });
    status = response.status;
    text = await response.text();
  } catch (error) {
    failure = error;
  }
  const ms = performance.now() - started;
  const result: Result = {
    target,
    scenario,
    probe,
    status,
    kind: "ok",
    code: "",
    start,
    ms,
    hung: HUNG.test(text),
    endedEarly: false,
    syncThrow: false,
    overBound: ms > (BOUND_MS[scenario] ?? 0) + 1000,
    secret: secrets.some((secret) => text.includes(secret)),
  };
  if (failure !== undefined) {
    const timedOut = (failure as Error).name === "TimeoutError";
    return {
      ...result,
      kind: "untyped",
      code: timedOut ? "CLIENT_TIMEOUT" : "BODY_ABORTED",
      message: String(failure),
      hung: timedOut,
      // A body cut off mid-stream is a result that ended early (with no error the Worker could type).
      endedEarly: !timedOut && status === 200,
    };
  }
  if (status === 200 && scenario === "stream") return { ...result, ...streamOutcome(text) };
  let body: Body | undefined;
  try {
    body = JSON.parse(text) as Body;
  } catch {
    // Not the Worker's JSON: the runtime answered (an exception, a hang cancellation).
  }
  if (!body) return { ...result, kind: "untyped", code: `RUNTIME_${status}`, message: text.slice(0, 300) };
  if (status === 200 && body.ok) return { ...result, refused: body.refused, syncThrow: body.syncThrow === true };
  return {
    ...result,
    kind: body.kind ?? "untyped",
    code: body.code ?? `HTTP_${status}`,
    message: body.message,
    syncThrow: body.syncThrow === true,
  };
}
