/** The simulated configurations the tests bind to, shared by the global setup (Node) and the tests (workerd). */
export type Configuration = "SIM" | "SIM_NOCACHE" | "SIM_SMALL" | "SIM_DOWN" | "SIM_SLOW";
export type Engine = "postgres" | "mysql";
/** One simulator per engine and configuration: PostgreSQL's are named as is, MySQL's with `MY_` in front. */
export type SimulatorName = Configuration | `MY_${Configuration}`;

export const simulatorName = (engine: Engine, configuration: Configuration): SimulatorName =>
  engine === "mysql" ? `MY_${configuration}` : configuration;

/** Small numbers keep the exhaustion test short; the defaults (5 connections, 5 s) are Hyperdrive's. */
export const SMALL = { poolSize: 2, acquireTimeoutMs: 1_000 };
export const LATENCY_MS = 40;
