/**
 * The fault schedule: one fault at a time, on both databases at once, while the load runs. Kills and resets wait
 * until connections are open through the proxy (long queries, open transactions, streamed cursors are in flight),
 * so they land on work in flight rather than between requests.
 */
import type { Engine } from "@hyperdrive-kit/testing/wrangler-dev";
import type { SoakEnvironment } from "./environment.ts";

export const FAULTS = ["kill", "reset", "blackhole", "delay", "stop"] as const;
export type FaultClass = (typeof FAULTS)[number];

export const FAULT_DESCRIPTIONS: Record<FaultClass, string> = {
  kill: "every backend/thread of the Worker ended on the server (pg_terminate_backend, KILL) while connections are open",
  reset: "TCP RST on every open proxied connection, both sides, while connections are open",
  blackhole: "new connections accepted and never answered for 3.5 s (longer than connectTimeoutMs)",
  delay: "every chunk held 30 ms each way on new connections for 4 s",
  stop: "the database stopped (PostgreSQL fast shutdown, MariaDB SIGTERM), started again 2 s later",
};

export interface FaultEvent {
  fault: FaultClass;
  /** When the fault began and when it was lifted (the database answered again, for `stop`), ms since the epoch. */
  start: number;
  end: number;
  /** Connections open through each proxy when the fault began: the work it landed on. */
  inFlight: Record<Engine, number>;
  /** Backends/threads ended, for `kill`. */
  killed?: Record<Engine, number>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ENGINES: readonly Engine[] = ["postgres", "mysql"];

/** Waits (up to 3 s) until both proxies have a connection open, so the fault lands on work in flight. */
async function untilBusy(env: SoakEnvironment): Promise<void> {
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline && ENGINES.some((engine) => env.servers[engine].proxy.connections === 0))
    await sleep(20);
}

const both = <T>(fn: (engine: Engine) => Promise<T>) =>
  Promise.all(ENGINES.map(fn)).then(
    (values) => Object.fromEntries(ENGINES.map((e, i) => [e, values[i]])) as Record<Engine, T>,
  );

export async function inject(env: SoakEnvironment, fault: FaultClass): Promise<FaultEvent> {
  if (fault === "kill" || fault === "reset") await untilBusy(env);
  const inFlight = Object.fromEntries(
    ENGINES.map((engine) => [engine, env.servers[engine].proxy.connections]),
  ) as Record<Engine, number>;
  const start = Date.now();
  const event: FaultEvent = { fault, start, end: start, inFlight };
  switch (fault) {
    case "kill":
      event.killed = await both((engine) => env.admin[engine].killAll().catch(() => -1));
      break;
    case "reset":
      for (const engine of ENGINES) env.servers[engine].proxy.resetAll();
      break;
    case "blackhole":
    case "delay":
      for (const engine of ENGINES)
        env.servers[engine].proxy.setMode(fault === "delay" ? { kind: "delay", ms: 30 } : { kind: "blackhole" });
      await sleep(fault === "delay" ? 4000 : 3500);
      for (const engine of ENGINES) env.servers[engine].proxy.setMode({ kind: "pass" });
      break;
    case "stop":
      await both((engine) => env.servers[engine].server.halt());
      await sleep(2000);
      await both((engine) => env.servers[engine].server.resume());
      break;
  }
  event.end = Date.now();
  return event;
}
