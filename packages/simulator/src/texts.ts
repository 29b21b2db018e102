/** Hyperdrive's own error texts, as documented (seed 000, the troubleshooting page). */
export const POOL_EXHAUSTED = "Failed to acquire a connection from the pool.";
export const ORIGIN_REFUSED = "Server connection attempt failed: connection_refused";
