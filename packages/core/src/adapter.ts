import { type BindingOption, type HyperdriveBinding, resolveBinding } from "./binding.ts";
import type { DriverName, HyperdriveErrorCode } from "./catalog.ts";
import { classify, toHyperdriveError } from "./classify.ts";
import { HyperdriveError, isHyperdriveError } from "./errors.ts";
import { guard } from "./guard.ts";
import { DEFAULT_CONNECT_TIMEOUT_MS, timeoutOption } from "./options.ts";
import type { RequestScope } from "./scope.ts";

/** What an adapter gets to build one request's client. */
export interface AdapterContext {
  readonly scope: RequestScope;
  readonly binding: HyperdriveBinding;
  readonly bindingName: string;
  /** Options the user explicitly allowed despite the risk (see `HDK_UNSAFE_OPTION`). */
  readonly allowUnsafe: ReadonlySet<string>;
  /** Bound on opening a connection (TCP and handshake), for the driver's own connect timeout option. */
  readonly connectTimeoutMs: number;
}

/** One request's client as an adapter built it. */
export interface OpenedClient<Client> {
  /** The driver's own client; core hands it out behind a scope guard. */
  readonly client: Client;
  /** Closes the client; core bounds it with the teardown timeout and swallows its errors. */
  close(): Promise<void>;
  /** Methods that run queries: timed and error-mapped. Calling the client itself always counts as a query. */
  readonly queryMethods: readonly PropertyKey[];
  /** Methods core replaces on the handle (after the scope check). */
  readonly overrides?: Readonly<Record<PropertyKey, (...args: never[]) => unknown>>;
}

/**
 * The contract between core and a driver adapter: a name and a function that builds a client for one request
 * without doing I/O. Everything else (scope, guard, teardown, errors) lives in core.
 */
export interface Adapter<Client, Options> {
  readonly driver: DriverName;
  open(context: AdapterContext, options: Options): OpenedClient<Client>;
}

/** Options every adapter accepts. */
export interface AttachOptions {
  /** Binding name in `env`, or the binding itself. Default: `HYPERDRIVE`, else the only Hyperdrive binding. */
  binding?: BindingOption;
  /** Risky options to allow anyway, by name (e.g. `["prepare"]` for Postgres.js `prepare: false`). */
  allowUnsafe?: readonly string[];
  /**
   * Bound on opening a connection, in milliseconds: a database (or network path) that accepts and never answers
   * fails with `HDK_TIMEOUT` after this long instead of hanging the request. Default 10000. A driver-specific
   * option (`connectionTimeoutMillis`, `connect_timeout`, `connectTimeout`) in `client` takes precedence.
   */
  connectTimeoutMs?: number;
}

/**
 * Builds the adapter's client for `scope` and returns it behind the scope guard. Use this to put a handle on a
 * scope you manage yourself (middleware, ORM shims); `withHyperdrive` is this plus `openScope` and `settle`.
 */
export function attach<Client extends object, Options extends AttachOptions>(
  adapter: Adapter<Client, Options>,
  scope: RequestScope,
  env: unknown,
  options: Options,
): Client {
  scope.assertUsable(adapter.driver);
  const { name, binding } = resolveBinding(env, options.binding);
  const connectTimeoutMs = timeoutOption("connectTimeoutMs", options.connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS);
  const opened = adapter.open(
    { scope, binding, bindingName: name, allowUnsafe: new Set(options.allowUnsafe ?? []), connectTimeoutMs },
    options,
  );
  scope.onTeardown(adapter.driver, opened.close);
  return guard(opened.client, {
    driver: adapter.driver,
    scope,
    queryMethods: new Set(opened.queryMethods),
    overrides: opened.overrides,
    secrets: secretsOf(binding),
  });
}

/** Throws `code` (default `HDK_UNSAFE_OPTION`) unless the user allowed `name` in `allowUnsafe`. */
export function refuseUnsafe(
  context: AdapterContext,
  driver: DriverName,
  name: string,
  explanation: string,
  code: HyperdriveErrorCode = "HDK_UNSAFE_OPTION",
): void {
  if (context.allowUnsafe.has(name)) return;
  throw new HyperdriveError(code, {
    driver,
    context: `${explanation} To accept the risk, pass \`allowUnsafe: ["${name}"]\`.`,
  });
}

/** Workers allow six simultaneous outgoing connections per request. */
export const MAX_CONNECTIONS = 6;

/** Client options every adapter refuses alike, read from the driver's own options. */
export interface CommonUnsafeOptions {
  /** Several statements per query: Hyperdrive cannot run them (MySQL drivers). */
  multipleStatements?: unknown;
  /** TLS on the Worker-to-Hyperdrive hop, which never uses it. */
  ssl?: unknown;
  /** A connection-count option (`max`, `connectionLimit`): its name, the value given and the one to use instead. */
  connections?: { option: string; value: number | undefined; suggested: number };
}

/** Refuses the unsafe options every driver shares, with the same words for each; `allowUnsafe` lets them through. */
export function refuseCommonUnsafe(context: AdapterContext, driver: DriverName, options: CommonUnsafeOptions): void {
  if (options.multipleStatements) {
    refuseUnsafe(
      context,
      driver,
      "multipleStatements",
      "`multipleStatements: true` was passed, but Hyperdrive does not support multi-statement queries (nor `USE`); send one statement per `query()`. It also turns any SQL injection into arbitrary statements.",
    );
  }
  if (options.ssl) {
    refuseUnsafe(
      context,
      driver,
      "ssl",
      "`ssl` is set, but the Worker-to-Hyperdrive connection never uses TLS (Hyperdrive encrypts the hop to your database itself).",
    );
  }
  const connections = options.connections;
  if (connections?.value !== undefined && connections.value > MAX_CONNECTIONS) {
    refuseUnsafe(
      context,
      driver,
      connections.option,
      `\`${connections.option}: ${connections.value}\` is above the Workers limit of ${MAX_CONNECTIONS} simultaneous connections per request; use ${connections.suggested}.`,
    );
  }
}

/**
 * Reports an error a driver emitted outside any call (an idle connection dropped) as a taxonomy error on the
 * scope's hook, so that it is seen but never becomes an uncaught exception.
 */
export function reportIdleError(context: AdapterContext, driver: DriverName, error: unknown): void {
  const mapped = toHyperdriveError(error, {
    driver,
    secrets: secretsOf(context.binding),
    context: "The connection failed while idle.",
  });
  if (isHyperdriveError(mapped)) context.scope.emit({ type: "error", driver, error: mapped });
}

/** Catalogue codes for a connection dropped mid-life, whose fix (do not reuse clients) is wrong at connect time. */
const DROPPED = new Set<string>([
  "HDK_PG_CONNECTION_TERMINATED_UNEXPECTEDLY",
  "HDK_POSTGRES_CONNECTION_CLOSED",
  "HDK_MYSQL_CONNECTION_LOST",
]);

/**
 * The error a failed connect should surface. A connection closed before the handshake completed is a database
 * that is down or refused the login (locally, wrangler's Hyperdrive proxy closes the connection when its own
 * login fails), not a client reused across requests: report it as `HDK_CONNECT_REFUSED`. Other errors pass.
 */
export function connectFailure(context: AdapterContext, driver: DriverName, error: unknown): unknown {
  const classified = classify(error);
  if (classified.type !== "catalog" || !DROPPED.has(classified.code)) return error;
  return new HyperdriveError("HDK_CONNECT_REFUSED", {
    driver,
    cause: error,
    secrets: secretsOf(context.binding),
    context:
      "The connection closed before the handshake completed: the database is down, or refused the user, password or database name.",
  });
}

/** What must never appear in a message, log or serialized error. */
export function secretsOf(binding: HyperdriveBinding): string[] {
  return [binding.password, binding.connectionString];
}
