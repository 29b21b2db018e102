/** PostgreSQL's side of the function catalogue: pg_proc's volatility, asked on a pooled origin connection. */
import { type FunctionRules, sqlValueFunctions, type Volatility, volatilityQuery } from "../functions.ts";
import { Backend, serialize } from "./messages.ts";
import type { PostgresOrigin } from "./origin.ts";

export const POSTGRES_FUNCTION_RULES: FunctionRules = {
  // Known without asking (the commonest); everything else is pg_proc's answer.
  volatile: new Set(["now", "random", "nextval", "currval", "lastval", "setval", "clock_timestamp", "txid_current"]),
  // Keywords written with a parenthesis and type names with a modifier: never functions in pg_proc.
  skip: new Set(
    (
      "in exists any all some values cast coalesce nullif greatest least row array extract position substring " +
      "overlay trim over filter within using on as and or not from where select grouping rollup cube sets numeric " +
      "decimal varchar char character bit varbit timestamp time interval float table lateral join into set " +
      "returning with when then else case is by having limit offset partition order group union except intersect " +
      "default primary key references check unique constraint index conflict do update insert delete call xmlelement"
    ).split(" "),
  ),
  // SQL value functions written without parentheses: STABLE in PostgreSQL.
  bareVolatile: sqlValueFunctions("session_user", "current_schema", "current_catalog"),
  patterns: [],
  // Functions not IMMUTABLE (STABLE or VOLATILE) are not cacheable.
  catalogue: { table: "pg_catalog.pg_proc", name: "proname", volatile: "bool_or(provolatile <> 'i')" },
};

/** The volatility of the functions by these names pg_proc lists, in any schema. */
export async function postgresVolatility(server: PostgresOrigin, names: string[]): Promise<Volatility> {
  const messages = await server.run(serialize.query(volatilityQuery(POSTGRES_FUNCTION_RULES.catalogue, names)));
  if (messages.some((m) => m[0] === Backend.Error)) throw new Error("the function lookup failed");
  return messages
    .filter((m) => m[0] === Backend.DataRow)
    .map((row) => {
      const [name, volatile] = dataRowTexts(row);
      return [name ?? "", volatile === "t"] as const;
    });
}

/** The text values of a DataRow (NULL as undefined). */
export function dataRowTexts(row: Buffer): Array<string | undefined> {
  const values: Array<string | undefined> = [];
  let offset = 7;
  const count = row.readInt16BE(5);
  for (let i = 0; i < count; i++) {
    const length = row.readInt32BE(offset);
    offset += 4;
    if (length < 0) values.push(undefined);
    else {
      values.push(row.toString("utf8", offset, offset + length));
      offset += length;
    }
  }
  return values;
}
