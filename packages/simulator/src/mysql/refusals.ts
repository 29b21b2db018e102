/**
 * What Hyperdrive does not support on MySQL (supported-databases-and-features.mdx): `USE`, `COM_INIT_DB`,
 * multi-statement queries, prepared statements at SQL and protocol level, non-UTF8 query text. `LOAD DATA LOCAL`
 * (undocumented) is refused with a text that says so rather than failing mid-statement.
 */
import type { Statement } from "../sql.ts";

/** Hyperdrive's documented text for the binary protocol (mysql2's `execute()`). */
export const HYPERDRIVE_PREPARE_ERROR = "Hyperdrive does not currently support MySQL COM_STMT_PREPARE messages";

export type MysqlRefusal = "use" | "init-db" | "multiple-statements" | "prepare" | "non-utf8" | "load-data-local";

/** Non-UTF-8 text is found on the query's bytes, before this (the engine's packet handler). */
export function mysqlRefusal(statements: Statement[]): MysqlRefusal | undefined {
  if (statements.length > 1) return "multiple-statements";
  const words = statements[0]?.words ?? [];
  const first = words[0];
  if (first === "use") return "use";
  if (first === "prepare" || first === "execute" || first === "deallocate") return "prepare";
  if (first === "load" && words.slice(1, 4).includes("local")) return "load-data-local";
  return undefined;
}

/** Only COM_STMT_PREPARE's text is documented; the others are the simulator's guesses (`messages.refused`). */
export const MYSQL_REFUSAL_MESSAGES: Record<MysqlRefusal, string> = {
  use: "Hyperdrive does not support USE: a pooled connection keeps the database of the configuration",
  "init-db": "Hyperdrive does not support COM_INIT_DB: a pooled connection keeps the database of the configuration",
  "multiple-statements": "Hyperdrive does not support multi-statement queries: send one statement per query",
  prepare: "Hyperdrive does not support SQL-level PREPARE, EXECUTE or DEALLOCATE",
  "non-utf8": "Hyperdrive does not support query text that is not UTF-8",
  "load-data-local":
    "Hyperdrive does not support LOAD DATA LOCAL INFILE: the origin would ask the client for a file; send the rows in INSERT statements",
};
