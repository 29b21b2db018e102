/**
 * Object injection through `?`: mysqljs, mysql2 before sidorares/node-mysql2#4054 in every position, and mysql2
 * since then still in `SET ?`, expand a plain object bound to `?` into `` `key` = value `` pairs, so
 * `WHERE password = ?` with `{ password: true }` from a JSON body becomes `` WHERE password = `password` = true ``
 * (sidorares/node-mysql2#1914). Request bodies can only produce plain objects and arrays, so those are what is
 * refused; class instances (Date, Buffer, typed arrays) and values made in code (`raw()`'s `toSqlString`,
 * sql-escaper's `expand()` mark) are not. Shared by the mysql2 and mysql adapters.
 */

import type { AdapterContext } from "./adapter.ts";
import type { DriverName } from "./catalog.ts";
import { HyperdriveError } from "./errors.ts";

/** What each driver does with a plain object bound to `?` (read from their escapers: sqlstring, sql-escaper 1.9). */
const WHAT_DRIVERS_DO: Partial<Record<DriverName, string>> = {
  mysql:
    'mysqljs expands it into `` `key` = value `` pairs wherever the `?` stands, so an object from a request body rewrites the clause: `WHERE password = ?` with `{ "password": true }` becomes `` WHERE password = `password` = true ``, true for every row.',
  mysql2:
    "mysql2 3.24 (with sql-escaper 1.9) expands it into `` `key` = value `` pairs in `SET ?` (an object from a request body sets any column it names, `is_admin` included) and sends it as the string '[object Object]' anywhere else, which silently compares with the wrong value; mysql2 before sidorares/node-mysql2#4054 expands it everywhere, as mysqljs does.",
};

/** sql-escaper's mark for a value passed through `expand()` on purpose (a symbol: JSON cannot produce it). */
const EXPAND_MARK = Symbol.for("sql-escaper.expand");

/** Where the first unsafe bind value sits (`"[1]"`, `":name"`, `"[0][2]"`), or undefined when all are safe. */
export function findUnsafeBindValue(values: unknown, namedPlaceholders: boolean): string | undefined {
  if (values === undefined || values === null) return undefined;
  if (Array.isArray(values)) return unsafeIn(values, "");
  if (namedPlaceholders && isPlainObject(values)) {
    for (const [name, value] of Object.entries(values)) {
      const where = unsafeAt(value, `:${name}`);
      if (where !== undefined) return where;
    }
    return undefined;
  }
  // A lone non-array value is bound to the first `?`.
  return unsafeAt(values, "[0]");
}

function unsafeIn(values: readonly unknown[], path: string): string | undefined {
  for (let i = 0; i < values.length; i++) {
    const where = unsafeAt(values[i], `${path}[${i}]`);
    if (where !== undefined) return where;
  }
  return undefined;
}

function unsafeAt(value: unknown, path: string): string | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  // Nested arrays are lists (`IN (?)`) and bulk rows (`VALUES ?`): safe when their members are.
  if (Array.isArray(value)) return unsafeIn(value, path);
  if (value instanceof Map) return path;
  if (!isPlainObject(value)) return undefined;
  const record = value as Record<PropertyKey, unknown>;
  if (typeof record.toSqlString === "function" || record[EXPAND_MARK] === true) return undefined;
  return path;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** The query's bind values and whether they are named, from any of the drivers' call shapes. */
export function bindValuesOf(args: readonly unknown[], defaultNamed: boolean): { values: unknown; named: boolean } {
  const [first, second] = args;
  if (typeof first === "object" && first !== null) {
    // query(options[, values][, cb]) or a prebuilt Query command: values given separately win, as in the drivers.
    const options = first as { values?: unknown; namedPlaceholders?: unknown };
    const values = second !== undefined && typeof second !== "function" ? second : options.values;
    const named = typeof options.namedPlaceholders === "boolean" ? options.namedPlaceholders : defaultNamed;
    return { values, named };
  }
  return { values: typeof second === "function" ? undefined : second, named: defaultNamed };
}

/**
 * The error that refuses object bind values in a query call's `args`, unless they are all safe or the user allowed
 * them. `namedByDefault`: the connection's `namedPlaceholders` (or custom `queryFormat`), which a call may override.
 */
export function objectValuesRefusal(
  context: AdapterContext,
  driver: DriverName,
  args: readonly unknown[],
  namedByDefault: boolean,
): unknown {
  if (context.allowUnsafe.has("objectValues")) return undefined;
  const { values, named } = bindValuesOf(args, namedByDefault);
  const where = findUnsafeBindValue(values, named);
  if (where === undefined) return undefined;
  return new HyperdriveError("HDK_UNSAFE_BIND_VALUE", {
    driver,
    context: `Bind value ${where} is a plain object (or Map); nothing was sent. ${WHAT_DRIVERS_DO[driver] ?? ""} To accept the risk, pass \`allowUnsafe: ["objectValues"]\`.`,
  });
}
