import { type BindingOption, type HyperdriveBinding, resolveBinding } from "./binding.ts";
import type { DriverName, HyperdriveErrorCode } from "./catalog.ts";
import { toHyperdriveError } from "./classify.ts";
import { HyperdriveError, isHyperdriveError } from "./errors.ts";
import { guard } from "./guard.ts";
import type { RequestScope } from "./scope.ts";

/** What an adapter gets to build one request's client. */
export interface AdapterContext {
  readonly scope: RequestScope;
  readonly binding: HyperdriveBinding;
  readonly bindingName: string;
  /** Options the user explicitly allowed despite the risk (see `HDK_UNSAFE_OPTION`). */
  readonly allowUnsafe: ReadonlySet<string>;
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
  const opened = adapter.open(
    { scope, binding, bindingName: name, allowUnsafe: new Set(options.allowUnsafe ?? []) },
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

/** What must never appear in a message, log or serialized error. */
export function secretsOf(binding: HyperdriveBinding): string[] {
  return [binding.password, binding.connectionString];
}
