import { catalog, type DriverName } from "./catalog.ts";
import { HyperdriveError } from "./errors.ts";

/** The fields of a Hyperdrive binding that the adapters use (a structural subset of workerd's `Hyperdrive`). */
export interface HyperdriveBinding {
  readonly connectionString: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
}

/** A binding name in `env`, or the binding object itself. */
export type BindingOption = string | HyperdriveBinding;

export const DEFAULT_BINDING = "HYPERDRIVE";

export interface ResolvedBinding {
  readonly name: string;
  readonly binding: HyperdriveBinding;
}

/** Checks the shape only: workerd's binding exposes these as getters, Miniflare's Node proxy as plain fields. */
export function isHyperdriveBinding(value: unknown): value is HyperdriveBinding {
  return readBinding(value) !== undefined;
}

/**
 * The binding's fields, each read once, as a plain object (or `undefined` if it is not a binding). workerd's getters
 * are native calls, and the connection string is built anew on each read; the adapters read the fields several times
 * per request. The copy lives as long as the request's handle: nothing is cached across requests.
 */
function readBinding(value: unknown): HyperdriveBinding | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const { connectionString, host, port, user, password, database } = value as Record<string, unknown>;
  if (
    typeof connectionString !== "string" ||
    typeof host !== "string" ||
    typeof port !== "number" ||
    typeof user !== "string" ||
    typeof password !== "string" ||
    typeof database !== "string"
  ) {
    return undefined;
  }
  return { connectionString, host, port, user, password, database };
}

/** The names of every Hyperdrive binding in `env`, for error messages and for the single-binding default. */
export function hyperdriveBindingNames(env: unknown): string[] {
  if (typeof env !== "object" || env === null) return [];
  return Object.keys(env).filter((key) => isHyperdriveBinding((env as Record<string, unknown>)[key]));
}

function listed(names: readonly string[]): string {
  return names.length === 0 ? "env has no Hyperdrive bindings." : `Hyperdrive bindings in env: ${names.join(", ")}.`;
}

/**
 * Finds the binding to use: the one given (name or object), else `HYPERDRIVE`, else the only Hyperdrive binding
 * in `env`. Errors list the Hyperdrive bindings `env` does have and never print a binding's fields.
 */
export function resolveBinding(env: unknown, option?: BindingOption, driver?: DriverName): ResolvedBinding {
  if (option !== undefined && typeof option !== "string") {
    const given = readBinding(option);
    if (given !== undefined) return { name: "(binding object)", binding: given };
    throw new HyperdriveError("HDK_BINDING_INVALID", {
      context: `The \`binding\` option is ${describe(option)}. ${listed(hyperdriveBindingNames(env))}`,
    });
  }
  if (typeof env !== "object" || env === null) {
    throw new HyperdriveError("HDK_BINDING_MISSING", {
      driver,
      fix: missingFix(driver),
      context: `\`env\` is ${describe(env)}; pass the second argument of your fetch handler.`,
    });
  }
  const record = env as Record<string, unknown>;
  const wanted = option ?? DEFAULT_BINDING;
  const value = record[wanted];
  const binding = readBinding(value);
  if (binding !== undefined) return { name: wanted, binding };
  // Only now: listing reads every field of every binding in env, on each request (a profile showed it).
  const names = hyperdriveBindingNames(env);
  if (value !== undefined) {
    throw new HyperdriveError("HDK_BINDING_INVALID", {
      context: `env.${wanted} is ${describe(value)}, not a Hyperdrive binding. ${listed(names)}`,
    });
  }
  if (option === undefined && names.length === 1) {
    const only = names[0] as string;
    return { name: only, binding: readBinding(record[only]) as HyperdriveBinding };
  }
  if (option === undefined && names.length > 1) {
    throw new HyperdriveError("HDK_BINDING_AMBIGUOUS", { context: listed(names) });
  }
  throw new HyperdriveError("HDK_BINDING_MISSING", {
    driver,
    fix: missingFix(driver),
    context: `env.${wanted} is not defined. ${listed(names)}`,
  });
}

/** `HDK_BINDING_MISSING`'s fix for one driver: only its engine's local URL, in the configuration example. */
function missingFix(driver: DriverName | undefined): string | undefined {
  if (driver === undefined) return undefined;
  const url =
    driver === "pg" || driver === "postgres"
      ? "postgres://user:password@localhost:5432/db"
      : "mysql://user:password@localhost:3306/db";
  const fix = catalog.HDK_BINDING_MISSING.fix;
  return fix.slice(0, fix.indexOf(" The local URL is")).replace("<local database URL>", url);
}

/** What a value is, with its article: "an object", "a Foo object", "an array", "a string", "null". */
function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") {
    const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof name === "string" && name !== "Object" ? `a ${name} object` : "an object";
  }
  return `a ${typeof value}`;
}
