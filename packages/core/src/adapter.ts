import { type BindingOption, type HyperdriveBinding, resolveBinding } from "./binding.ts";
import type { DriverName, HyperdriveErrorCode } from "./catalog.ts";
import { classify, markConnectFailure, toHyperdriveError } from "./classify.ts";
import { HyperdriveError, isHyperdriveError } from "./errors.ts";
import { type Binder, type GuardOptions, type GuardSpec, guard, serverError, serverWait } from "./guard.ts";
import {
  allowUnsafeOption,
  COMMON_OPTION_KEYS,
  DEFAULT_CONNECT_TIMEOUT_MS,
  refuseUnknownOptions,
  teardownOption,
  timeoutOption,
} from "./options.ts";
import { DEFAULT_TEARDOWN_TIMEOUT_MS, type RequestScope, type ScopeOptions } from "./scope.ts";

/** What an adapter gets to build one request's client. */
export interface AdapterContext {
  readonly binding: HyperdriveBinding;
  readonly bindingName: string;
  /** Options the user explicitly allowed despite the risk (see `HDK_UNSAFE_OPTION`). */
  readonly allowUnsafe: ReadonlySet<string>;
  /** Bound on opening a connection (TCP, TLS, authentication, startup), enforced by `connecting()`. */
  readonly connectTimeoutMs: number;
  /** Secrets to keep out of every message (the binding's password and connection string). */
  readonly secrets: readonly string[];
  /**
   * Tells core that the driver started opening a connection. Core bounds the attempt by `timeoutMs` (default
   * `connectTimeoutMs`): when it runs out, `abort` gets an `HDK_TIMEOUT` error and must make the driver fail the
   * connection (and what waits on it) with that error. Core emits the `connect` event, with its duration, when the
   * adapter reports the outcome.
   */
  connecting(abort: (error: HyperdriveError) => void, timeoutMs?: number): ConnectAttempt;
  /** An error the driver raised outside any call (an idle connection dropped): reported, never thrown. */
  reportIdle(error: unknown): void;
  /**
   * One wait for the server inside a query, not a query call (a cursor's next batch): bounded by `queryTimeoutMs`
   * (a bound covers one wait, not a cursor's life), its rejection mapped like a query's.
   */
  serverWait<T>(wait: Promise<T>): Promise<T>;
  /** A driver error met outside a query call (a row stream's `error` event), mapped like a query's (typed). */
  serverError(error: unknown): unknown;
}

/** One connection attempt, as the adapter reports it to core; the first report wins. */
export interface ConnectAttempt {
  succeeded(): void;
  /** Returns the error to surface: a connection closed before its handshake becomes `HDK_CONNECT_REFUSED`. */
  failed(error: unknown): unknown;
}

/** One request's client as an adapter built it. */
export interface OpenedClient<Client> extends GuardSpec {
  /** The driver's own client; core hands it out behind a scope guard. */
  readonly client: Client;
  /**
   * Closes the client; core bounds a returned promise with the teardown timeout and swallows its errors. Returns
   * `undefined` when the client is closed by the time it returns (core then arms no timer).
   */
  close(): Promise<void> | undefined;
  /**
   * Objects the client gives out that can reach a socket (pool clients, transactions, cursors), and how to guard
   * them: core binds them to the same scope. Return `undefined` for everything else (rows, results).
   */
  readonly bind?: Binder;
  /**
   * Discards the client's connections at once, failing what runs on them with `error` (after a query timeout).
   * Without it, `queryTimeoutMs` is refused for this adapter.
   */
  abort?(error: HyperdriveError): void;
}

/**
 * The contract between core and a driver adapter: a name and a function that builds a client for one request
 * without doing I/O. Everything else (scope, guard, teardown, events, errors, timeouts) lives in core.
 */
export interface Adapter<Client, Options> {
  readonly driver: DriverName;
  /** The option keys this adapter reads besides the common ones (`client`, `pool`…); any other key is refused. */
  readonly optionKeys: readonly string[];
  /**
   * The names this adapter's refusals accept in `allowUnsafe` (`"max"`, `"prepare"`…): any other name is refused as a
   * typo. Without it, `allowUnsafe` takes any string.
   */
  readonly unsafeOptions?: readonly string[];
  open(context: AdapterContext, options: Options): OpenedClient<Client>;
}

/** Options every adapter accepts. */
export interface AttachOptions {
  /** Binding name in `env`, or the binding itself. Default: `HYPERDRIVE`, else the only Hyperdrive binding. */
  binding?: BindingOption;
  /** Risky options to allow anyway, by name (e.g. `["prepare"]` for Postgres.js `prepare: false`). */
  allowUnsafe?: readonly string[];
  /**
   * Bound on opening a connection (TCP, handshake, authentication), in milliseconds: a database (or network path)
   * that does not complete the connection fails with `HDK_TIMEOUT` after this long instead of hanging the request.
   * Default 10000. A driver-specific option (`connectionTimeoutMillis`, `connect_timeout`, `connectTimeout`) in
   * `client` takes precedence.
   */
  connectTimeoutMs?: number;
  /**
   * Bound on one query, in milliseconds: a query that has not finished fails with `HDK_TIMEOUT` and its connection is
   * discarded (the database may still run it until it notices). Default: none (Hyperdrive ends queries after 60 s).
   */
  queryTimeoutMs?: number;
}

/**
 * Builds the adapter's client for `scope` and returns it behind the scope guard. Use this to put a handle on a
 * scope you manage yourself (middleware, ORM shims); `withHyperdrive` is this plus `openScope` and `settle`. The
 * handle may be made before `scope.run()`: it is checked when it is used.
 */
export function attach<Client extends object, Options extends AttachOptions>(
  adapter: Adapter<Client, Options>,
  scope: RequestScope,
  env: unknown,
  options: Options,
): Client {
  const { driver } = adapter;
  scope.assertOpen(driver);
  refuseUnknownOptions(options, COMMON_OPTION_KEYS, adapter.optionKeys);
  const { name, binding } = resolveBinding(env, options.binding, driver);
  const connectTimeoutMs = timeoutOption("connectTimeoutMs", options.connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS);
  const queryTimeoutMs =
    options.queryTimeoutMs === undefined ? undefined : timeoutOption("queryTimeoutMs", options.queryTimeoutMs, 0);
  const secrets = secretsOf(binding);
  // Set once the adapter has opened its client; read only by calls made after that.
  let guardOptions: GuardOptions | undefined;
  // Method shorthand, not arrows: see the note on `keep_names` in guard.ts.
  const context: AdapterContext = {
    binding,
    bindingName: name,
    allowUnsafe:
      options.allowUnsafe === undefined
        ? NOTHING_ALLOWED
        : allowUnsafeOption(options.allowUnsafe, adapter.unsafeOptions),
    connectTimeoutMs,
    secrets,
    connecting(abort, timeoutMs = connectTimeoutMs) {
      return new Attempt(scope, driver, secrets, abort, timeoutMs);
    },
    reportIdle(error) {
      const mapped = toHyperdriveError(error, {
        driver,
        secrets,
        context: "The connection failed while idle.",
        inRequest: true,
      });
      if (isHyperdriveError(mapped)) scope.emit({ type: "error", driver, error: mapped });
    },
    serverWait(wait) {
      return guardOptions === undefined ? wait : serverWait(guardOptions, wait);
    },
    serverError(error) {
      return guardOptions === undefined ? error : serverError(guardOptions, error);
    },
  };
  const opened = adapter.open(context, options);
  if (queryTimeoutMs !== undefined && opened.abort === undefined) {
    throw new HyperdriveError("HDK_INVALID_OPTION", {
      driver,
      context: "`queryTimeoutMs` is not supported by this adapter: it cannot discard a connection.",
    });
  }
  scope.onTeardown(driver, opened.close);
  guardOptions = {
    driver,
    scope,
    secrets,
    bind: opened.bind,
    queryTimeoutMs,
    abort: opened.abort?.bind(opened),
  };
  return guard(opened.client, opened, guardOptions);
}

/**
 * Checks what can be checked of an adapter's options without a request (names, timeouts, `teardown`, `allowUnsafe`),
 * for integrations that take the options once, at setup (a middleware): a mistake then fails when the app is built,
 * not on every request. `integrationKeys` are the integration's own option names, accepted and listed with the rest.
 */
export function checkOptions<Options extends AttachOptions>(
  adapter: Adapter<unknown, Options>,
  options: object,
  integrationKeys: readonly string[] = [],
): void {
  refuseUnknownOptions(options, COMMON_OPTION_KEYS, [...adapter.optionKeys, ...integrationKeys]);
  const given = options as AttachOptions & ScopeOptions;
  timeoutOption("connectTimeoutMs", given.connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS);
  timeoutOption("queryTimeoutMs", given.queryTimeoutMs, 0);
  timeoutOption("teardownTimeoutMs", given.teardownTimeoutMs, DEFAULT_TEARDOWN_TIMEOUT_MS);
  teardownOption(given.teardown);
  if (given.allowUnsafe !== undefined) allowUnsafeOption(given.allowUnsafe, adapter.unsafeOptions);
}

/** `allowUnsafe` when the user passed none: one set for every request, not a new one each time. */
const NOTHING_ALLOWED: ReadonlySet<string> = new Set();

/** Core's half of a connection attempt: the deadline, the mapping of its failure and the `connect` event. */
class Attempt implements ConnectAttempt {
  readonly #scope: RequestScope;
  readonly #driver: DriverName;
  readonly #secrets: readonly string[];
  /** Read only when someone listens for the `connect` event: a clock read per request is visible in the bench. */
  readonly #started: number;
  readonly #timer: ReturnType<typeof setTimeout> | undefined;
  #settled = false;
  #outcome: unknown;

  constructor(
    scope: RequestScope,
    driver: DriverName,
    secrets: readonly string[],
    abort: (error: HyperdriveError) => void,
    timeoutMs: number,
  ) {
    this.#scope = scope;
    this.#driver = driver;
    this.#secrets = secrets;
    this.#started = scope.observed ? performance.now() : 0;
    this.#timer =
      timeoutMs > 0
        ? setTimeout(() => {
            if (this.#settled) return;
            const error = new HyperdriveError("HDK_TIMEOUT", {
              driver,
              context: `The connection was not established within ${timeoutMs} ms (connectTimeoutMs).`,
            });
            this.#outcome = error;
            abort(error);
          }, timeoutMs)
        : undefined;
  }

  succeeded(): void {
    if (!this.#settled) this.#finish(undefined);
  }

  failed(error: unknown): unknown {
    if (this.#settled) return this.#outcome ?? error;
    this.#outcome ??= connectFailure(this.#driver, this.#secrets, error);
    this.#finish(this.#outcome);
    return this.#outcome;
  }

  #finish(error: unknown): void {
    this.#settled = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    const scope = this.#scope;
    if (scope.observed) {
      scope.emit({ type: "connect", driver: this.#driver, durationMs: performance.now() - this.#started, error });
    }
  }
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
      "`multipleStatements: true` was passed, but Hyperdrive does not support multi-statement queries (nor `USE`): remove it (the safe value is `false`, the default) and send one statement per `query()`. It also turns any SQL injection into arbitrary statements.",
    );
  }
  if (options.ssl) {
    refuseUnsafe(
      context,
      driver,
      "ssl",
      "`ssl` is set, but the Worker-to-Hyperdrive connection never uses TLS (Hyperdrive encrypts the hop to your database itself): remove `ssl` (the safe value is `false`, the default here).",
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

/** Catalogue codes for a connection dropped mid-life, whose fix (do not reuse clients) is wrong at connect time. */
const DROPPED = new Set<string>([
  "HDK_CONNECTION_LOST",
  "HDK_PG_CONNECTION_TERMINATED_UNEXPECTEDLY",
  "HDK_POSTGRES_CONNECTION_CLOSED",
  "HDK_MYSQL_CONNECTION_LOST",
]);

/**
 * The error a failed connect should surface. A connection closed before the handshake completed is a database
 * that is down or refused the login (locally, wrangler's Hyperdrive proxy closes the connection when its own
 * login fails), not a client reused across requests: report it as `HDK_CONNECT_REFUSED`. Other errors pass.
 */
function connectFailure(driver: DriverName, secrets: readonly string[], error: unknown): unknown {
  markConnectFailure(error);
  const classified = classify(error);
  if (classified.type === "database") return error;
  if (classified.type === "catalog" && !DROPPED.has(classified.code))
    return toHyperdriveError(error, { driver, secrets });
  return new HyperdriveError("HDK_CONNECT_REFUSED", {
    driver,
    cause: error,
    secrets,
    context:
      classified.type === "catalog"
        ? "The connection closed before the handshake completed: the database is down, or refused the user, password or database name."
        : "The connection failed before its handshake completed.",
  });
}

/**
 * The fields a driver connects with, read from the binding one by one: workerd's binding exposes them as getters on
 * its prototype, so spreading the binding would copy nothing.
 */
export function connectionFields(binding: HyperdriveBinding) {
  const { host, port, user, password, database } = binding;
  return { host, port, user, password, database };
}

/** What must never appear in a message, log or serialized error. */
export function secretsOf(binding: HyperdriveBinding): string[] {
  return [binding.password, binding.connectionString];
}
