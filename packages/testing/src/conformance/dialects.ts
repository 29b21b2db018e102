/** The statements the conformance Worker needs, per engine: the same for every driver of that engine. */
import type { ConformanceDriver } from "./worker.ts";

export type Dialect = Pick<
  ConformanceDriver<unknown>,
  "countConnectionsSql" | "rowsSql" | "sleepSql" | "backendIdSql" | "killSql" | "sleepingSql"
>;

export const postgresDialect: Dialect = {
  countConnectionsSql:
    "select count(*)::int as n from pg_stat_activity where datname = current_database() and backend_type = 'client backend' and pid <> pg_backend_pid()",
  rowsSql: (count, width) => `select n, repeat('x', ${width}) as pad from generate_series(1, ${count}) as n order by n`,
  // Cast: Prisma cannot read a `void` column.
  sleepSql: (seconds) => `select pg_sleep(${seconds})::text as slept`,
  backendIdSql: "select pg_backend_pid() as id",
  killSql: (id) => `select pg_terminate_backend(${id})`,
  sleepingSql: (id) =>
    `select count(*)::int as n from pg_stat_activity where state = 'active' and query like 'select pg_sleep(%' and pid <> pg_backend_pid()${id === undefined ? "" : ` and pid = ${id}`}`,
};

export const mysqlDialect: Dialect = {
  // Other client connections to the test database; the connection asking is left out.
  countConnectionsSql:
    "select count(*) as n from information_schema.processlist where db = database() and id <> connection_id()",
  // MariaDB's own row source; a recursive CTE would stop at MySQL's cte_max_recursion_depth.
  rowsSql: (count, width) => `select seq as n, repeat('x', ${width}) as pad from seq_1_to_${count} order by seq`,
  sleepSql: (seconds) => `select sleep(${seconds})`,
  backendIdSql: "select connection_id() as id",
  killSql: (id) => `kill ${id}`,
  sleepingSql: (id) =>
    `select count(*) as n from information_schema.processlist where state = 'User sleep' and id <> connection_id()${id === undefined ? "" : ` and id = ${id}`}`,
};
