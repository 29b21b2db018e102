import { createObjectHyperdrive } from "@hyperdrive-kit/core/adapter";
import { postgresAdapter } from "./postgres.ts";

/**
 * A Postgres.js handle for the life of a Durable Object (`new`-ed once, in a field: `objectHyperdrive(this.ctx, this.env)`):
 * `await this.db.run((sql) => …)` in each request reuses one connection, closed after `idleMs` (30 s) without use.
 */
export const objectHyperdrive = createObjectHyperdrive(postgresAdapter);
