/**
 * The doctor's own rules: project and origin mistakes that Hyperdrive's troubleshooting page has no row for. Every
 * finding that matches a row uses core's catalogue instead (`HDK_CONFIG_*`, `HDK_GLOBAL_SCOPE`, `HDK_EVAL_DISALLOWED`…).
 * Same shape as the catalogue, so a finding reads the same whichever it comes from.
 */
import type { CatalogEntry } from "@hyperdrive-kit/core";

export const LOCAL_DEV = "https://developers.cloudflare.com/hyperdrive/configuration/local-development/";
const BINDING = "https://developers.cloudflare.com/workers/wrangler/configuration/#hyperdrive";
/** Cloudflare's page on a Worker's Hyperdrive binding (core's catalogue links the library's README instead). */
export const BINDING_DOCS =
  "https://developers.cloudflare.com/hyperdrive/get-started/#3-bind-your-worker-to-hyperdrive";
const PRIVATE_DB = "https://developers.cloudflare.com/hyperdrive/configuration/connect-to-private-database/";
const TLS = "https://developers.cloudflare.com/hyperdrive/configuration/tls-ssl-certificates-for-hyperdrive/";
const DRIVERS = "https://developers.cloudflare.com/hyperdrive/reference/supported-databases-and-features/";

const rule = (message: string, details: string, fix: string, docs: string): CatalogEntry => ({
  category: "usage",
  message,
  details,
  fix,
  docs,
  retryable: false,
});

export const rules = {
  HDK_DOCTOR_CONFIG_INVALID: rule(
    "Wrangler configuration cannot be read",
    "The Wrangler configuration file is not valid JSONC or TOML, or a field has the wrong type, so wrangler refuses it too.",
    "Fix the syntax at the position given; `wrangler.jsonc` allows comments and trailing commas, `wrangler.toml` is TOML 1.0.",
    "https://developers.cloudflare.com/workers/wrangler/configuration/",
  ),
  HDK_DOCTOR_COMPATIBILITY_DATE: rule(
    "compatibility_date too old for the database drivers",
    "The database drivers need the Node.js APIs (`node:net`, `node:tls`, `node:crypto`) that `nodejs_compat` provides only with a `compatibility_date` of 2024-09-23 or later.",
    'Set `"compatibility_date"` to 2024-09-23 or later (today\'s date is best) alongside `"compatibility_flags": ["nodejs_compat"]`.',
    "https://developers.cloudflare.com/workers/runtime-apis/nodejs/",
  ),
  HDK_DOCTOR_BINDING_NAME: rule(
    "Invalid binding name",
    "A Hyperdrive binding's name must be a valid JavaScript identifier: the Worker reads it as `env.<NAME>`.",
    'Rename the binding to letters, digits, `_` and `$`, not starting with a digit (for example `"HYPERDRIVE"`), and use that name in your code.',
    BINDING,
  ),
  HDK_DOCTOR_BINDING_ID: rule(
    "Binding without an id",
    "A Hyperdrive binding needs the `id` of a Hyperdrive configuration; `wrangler deploy` refuses a binding without one.",
    "Create the configuration with `wrangler hyperdrive create <name> --connection-string=…` and put the id it prints in the binding's `id`.",
    BINDING,
  ),
  HDK_DOCTOR_LOCAL_STRING_MISSING: rule(
    "No local connection string",
    "`wrangler dev` and the Vitest plugin need a local database for each Hyperdrive binding and stop with “When developing locally, you should use a local Postgres connection string” when there is none.",
    "Add `localConnectionString` to the binding, or set `CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_<BINDING>` in `.env` (not `.dev.vars`).",
    LOCAL_DEV,
  ),
  HDK_DOCTOR_LOCAL_STRING_IN_DEV_VARS: rule(
    "Local connection string in .dev.vars",
    "`CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_<BINDING>` is read from the process environment and `.env`, not from `.dev.vars`, so wrangler ignores it there (workers-sdk#8157).",
    "Move the variable from `.dev.vars` to `.env` (or export it in your shell).",
    LOCAL_DEV,
  ),
  HDK_DOCTOR_LOCAL_STRING_INVALID: rule(
    "Incomplete local connection string",
    "Miniflare needs a `postgres://`, `postgresql://` or `mysql://` URL with a user, a password and a database, and refuses the binding otherwise.",
    "Use the form `postgres://user:password@127.0.0.1:5432/database` (or `mysql://…:3306/…`).",
    LOCAL_DEV,
  ),
  HDK_DOCTOR_REMOTE_BINDING: rule(
    "remote: true on a Hyperdrive binding",
    "Remote bindings in local development are not supported for Hyperdrive by most wrangler versions (workers-sdk#11674): the binding then has no local database. Newer wrangler connects to the deployed configuration, so `wrangler dev` reads and writes your production database, and falls back to `localConnectionString` when it cannot connect.",
    'Remove `"remote": true` from the Hyperdrive binding and develop against a local database (`localConnectionString`).',
    LOCAL_DEV,
  ),
  HDK_DOCTOR_POOLER: rule(
    "Connection pooler in front of the database",
    "Hyperdrive is itself a transaction-mode pooler. A pooler between Hyperdrive and the database (PgBouncer on 6432, Supabase's pooler on 6543, Neon's `-pooler` hosts) adds a second pool with its own limits and breaks prepared statements and session state.",
    "Point Hyperdrive at the database's direct address (Supabase: port 5432 on the direct host; Neon: the host without `-pooler`).",
    "https://developers.cloudflare.com/hyperdrive/concepts/how-hyperdrive-works/",
  ),
  HDK_DOCTOR_DRIVER_VERSION: rule(
    "Database driver older than Hyperdrive's minimum",
    "Hyperdrive needs pg 8.16.3, postgres (Postgres.js) 3.4.5, mysql2 3.13.0 or mysql 2.18.0 or later; older versions lack the Workers socket support or the fixes it relies on.",
    "Upgrade the driver (`npm i pg@latest`, `mysql2@latest`, `postgres@latest`) and commit the lockfile.",
    DRIVERS,
  ),
  HDK_DOCTOR_DRIVER_UNDECLARED: rule(
    "Database driver imported but not declared",
    "The Worker's source imports a database driver that its package.json does not list (nor the workspace's): the bundle gets whichever copy another package happened to install, and its version cannot be checked against Hyperdrive's minimum.",
    "Add the driver to the Worker's `dependencies` (`npm i pg`, `pnpm add postgres`, …) and commit the lockfile.",
    DRIVERS,
  ),
  HDK_DOCTOR_DRIVER_UNSUPPORTED: rule(
    "Database driver newer than hyperdrive-kit supports",
    "hyperdrive-kit supports Postgres.js (`postgres`) 3.4.5 to 4.x (`@hyperdrive-kit/postgres` asks for `>=3.4.5 <5`); a later major has not been tested with Hyperdrive.",
    "Install Postgres.js 4 (`npm i postgres@4`, `pnpm add postgres@4`) and commit the lockfile.",
    DRIVERS,
  ),
  HDK_DOCTOR_SOURCE_UNREADABLE: rule(
    "Source file cannot be parsed",
    "A source file could not be parsed as JavaScript or TypeScript, so its database code was not checked.",
    "Fix the syntax error (your bundler would refuse it too), or ignore this if the file is not part of the Worker.",
    "https://github.com/hyperdrive-kit/hyperdrive-kit/tree/main/packages/doctor#what-it-checks",
  ),
  HDK_DOCTOR_SOURCE_NOT_FOUND: rule(
    "Worker source not found",
    "The Wrangler configuration's `main` is a build output, a path that does not exist or a package name, and the project does not say where the source it is built from lives (a build script entry, a framework's source folder, tsconfig's rootDir), so the source checks did not run.",
    "Point `main` at your source entry (wrangler bundles it), or run the doctor where the build's source can be found; fix the path if it is wrong.",
    "https://developers.cloudflare.com/workers/wrangler/configuration/#inheritable-keys",
  ),
  HDK_DOCTOR_CONFIG_IGNORED: rule(
    "Hyperdrive bindings in a configuration wrangler ignores",
    "wrangler reads the first of `wrangler.json`, `wrangler.jsonc` and `wrangler.toml` it finds and ignores the others, so the Hyperdrive bindings in the ignored file are not the Worker's.",
    "Move the bindings into the file wrangler reads and delete the other one, or run wrangler (and the doctor) with `--config` naming the file you mean.",
    "https://developers.cloudflare.com/workers/wrangler/configuration/",
  ),
  HDK_DOCTOR_ORIGIN_FIELDS: rule(
    "Origin fields that wrangler refuses",
    "`wrangler hyperdrive create` needs a scheme (postgres, postgresql or mysql), a host, a port (unless the origin is behind Cloudflare Access), a database, a user and a password.",
    "Give `--connection-string=postgres://user:password@host:5432/database`, or every field (`--origin-host`, `--origin-port`, `--database`, `--origin-user`, `--origin-password`, `--origin-scheme`).",
    "https://developers.cloudflare.com/hyperdrive/reference/wrangler-commands/",
  ),
  HDK_DOCTOR_ORIGIN_ACCESS: rule(
    "Tunnel origin fields that do not fit together",
    "A private database behind Cloudflare Tunnel is reached through Cloudflare Access: the configuration needs both the Access client id and the client secret, and no port (the tunnel's service configuration picks it).",
    "Give both `--access-client-id` and `--access-client-secret`, give `--origin-host` the tunnel's public hostname and omit `--origin-port`.",
    PRIVATE_DB,
  ),
  HDK_DOCTOR_ORIGIN_TLS: rule(
    "TLS settings that do not fit together",
    "A CA certificate only applies when the server certificate is verified: it is not allowed with sslmode `require` and required with `verify-ca` and `verify-full` (MySQL: `VERIFY_CA`, `VERIFY_IDENTITY`). Hyperdrive always uses TLS to the origin.",
    "Use `--sslmode=verify-full` (or `verify-ca`) with `--ca-certificate-id` (upload the CA with `wrangler cert upload certificate-authority`), or `--sslmode=require` without one.",
    TLS,
  ),
} as const satisfies Record<string, CatalogEntry>;

export type DoctorCode = keyof typeof rules;
