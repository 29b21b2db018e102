/** MySQL's and MariaDB's side of the function catalogue: built-ins by name, stored functions from the origin. */
import { type FunctionRules, sqlValueFunctions, type Volatility, volatilityQuery } from "../functions.ts";
import type { MysqlOrigin } from "./origin.ts";

export const MYSQL_FUNCTION_RULES: FunctionRules = {
  // Built-ins whose result changes between calls or that act on the session or server (MySQL and MariaDB manuals;
  // Hyperdrive's docs name CURDATE() and LAST_INSERT_ID()). Built-ins cannot be shadowed by a stored function
  // called without its schema.
  volatile: new Set(
    (
      "now curdate curtime current_date current_time current_timestamp localtime localtimestamp sysdate utc_date " +
      "utc_time utc_timestamp unix_timestamp rand random_bytes uuid uuid_short uuid_v4 uuid_v7 sys_guid " +
      "last_insert_id connection_id found_rows row_count user current_user session_user system_user current_role " +
      "database schema sleep benchmark get_lock release_lock release_all_locks is_free_lock is_used_lock nextval " +
      "lastval setval master_pos_wait source_pos_wait master_gtid_wait wait_for_executed_gtid_set load_file " +
      "ps_current_thread_id ps_thread_id last_value encrypt"
    ).split(" "),
  ),
  // Keywords written with a parenthesis and the commonest deterministic built-ins: never stored functions.
  skip: new Set(
    (
      "in exists any all some values cast convert coalesce ifnull nullif if greatest least row over using on as " +
      "and or not from where select count sum min max avg group_concat concat concat_ws lower upper lcase ucase " +
      "length char_length character_length substring substr trim ltrim rtrim replace round floor ceil ceiling abs " +
      "mod date_format date time year month day hour minute second json_extract json_object json_array " +
      "json_unquote json_length json_contains json_arrayagg json_objectagg char varchar decimal int binary " +
      "interval table join into set case when key index unique primary foreign references check default partition " +
      "limit order group by having union match against extract position timestampdiff timestampadd date_add " +
      "date_sub str_to_date hex unhex md5 sha1 sha2 to_base64 from_base64 lpad rpad left right locate instr field " +
      "find_in_set elt format cast inet_aton inet_ntoa"
    ).split(" "),
  ),
  bareVolatile: sqlValueFunctions(),
  // MariaDB's sequences: NEXT VALUE FOR s, PREVIOUS VALUE FOR s.
  patterns: [/\b(?:next|previous)\s+value\s+for\b/i],
  // Stored functions: volatile unless declared DETERMINISTIC and not MODIFIES SQL DATA.
  catalogue: {
    table: "information_schema.routines",
    name: "routine_name",
    volatile: "max(is_deterministic <> 'YES' or sql_data_access = 'MODIFIES SQL DATA')",
    where: "routine_type = 'FUNCTION'",
  },
};

/** The volatility of the stored functions by these names, in any schema. */
export async function mysqlVolatility(server: MysqlOrigin, names: string[]): Promise<Volatility> {
  const result = await server.query(volatilityQuery(MYSQL_FUNCTION_RULES.catalogue, names));
  if (result.kind !== "rows") return [];
  return result.rows.map(([name, volatile]) => [String(name ?? ""), String(volatile ?? "1") !== "0"] as const);
}
