/** Running a Worker on Postgres.js 4 beside the workspace's 3.x: where it is installed and what it needs of workerd. */
import { createRequire } from "node:module";
import { dirname } from "node:path";

/**
 * Postgres.js 4 imports `node:os` and `node:fs`, which `nodejs_compat` brings from compatibility date 2025-09-15 only
 * (workerd `compatibility-date.capnp`); the tests' date is older.
 */
export const POSTGRES_JS_4_FLAGS = ["enable_nodejs_os_module", "enable_nodejs_fs_module"];

/**
 * The folder of Postgres.js 4 as installed here (the `postgres4` alias, `npm:postgres@4`): an alias target for
 * `postgres` resolvable from any importer (pnpm is strict).
 */
export const postgresJs4 = (): string => dirname(dirname(createRequire(import.meta.url).resolve("postgres4")));
