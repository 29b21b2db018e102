import { createObjectHyperdrive } from "@hyperdrive-kit/core/adapter";
import { postgresAdapter } from "./postgres.ts";

// Pure: the build makes the package one module, where `sideEffects: false` cannot drop a call made at load. Marked,
// it leaves the object handle out of a Worker that uses only `withHyperdrive` (the bench's size check asserts that).
/**
 * A Postgres.js handle for the life of a Durable Object (`new`-ed once, in a field: `objectHyperdrive(this.ctx, this.env)`):
 * `await this.db.run((sql) => …)` in each request reuses one connection, closed after `idleMs` (30 s) without use.
 */
export const objectHyperdrive = /* @__PURE__ */ createObjectHyperdrive(postgresAdapter);
