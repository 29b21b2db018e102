/** The simulated configurations the tests bind to, shared by the global setup (Node) and the tests (workerd). */
export type SimulatorName = "SIM" | "SIM_NOCACHE" | "SIM_SMALL" | "SIM_DOWN" | "SIM_SLOW";

/** Small numbers keep the exhaustion test short; the defaults (5 connections, 5 s) are Hyperdrive's. */
export const SMALL = { poolSize: 2, acquireTimeoutMs: 1_000 };
export const LATENCY_MS = 40;
