/**
 * What Hyperdrive does not support on MySQL (supported-databases-and-features.mdx): `USE`, `COM_INIT_DB`,
 * multi-statement queries, prepared statements at SQL and protocol level, non-UTF8 query text.
 */
import type { Statement } from "../sql.ts";

/** Hyperdrive's documented text for the binary protocol (mysql2's `execute()`). */
export const HYPERDRIVE_PREPARE_ERROR = "Hyperdrive does not currently support MySQL COM_STMT_PREPARE messages";

export type MysqlRefusal = "use" | "init-db" | "multiple-statements" | "prepare" | "non-utf8";

export function mysqlRefusal(text: string, statements: Statement[]): MysqlRefusal | undefined {
  // The text as mysql2 decoded it: bytes that are not UTF-8 became U+FFFD.
  if (text.includes("\uFFFD")) return "non-utf8";
  if (statements.length > 1) return "multiple-statements";
  const first = statements[0]?.words[0];
  if (first === "use") return "use";
  if (first === "prepare" || first === "execute" || first === "deallocate") return "prepare";
  return undefined;
}

/** Only COM_STMT_PREPARE's text is documented; the others are the simulator's guesses (`messages.refused`). */
export const MYSQL_REFUSAL_MESSAGES: Record<MysqlRefusal, string> = {
  use: "Hyperdrive does not support USE: a pooled connection keeps the database of the configuration",
  "init-db": "Hyperdrive does not support COM_INIT_DB: a pooled connection keeps the database of the configuration",
  "multiple-statements": "Hyperdrive does not support multi-statement queries: send one statement per query",
  prepare: "Hyperdrive does not support SQL-level PREPARE, EXECUTE or DEALLOCATE",
  "non-utf8": "Hyperdrive does not support query text that is not UTF-8",
};
