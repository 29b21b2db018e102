import { hyperdrive } from "@hyperdrive-kit/hono";
import { mysqlAdapter } from "@hyperdrive-kit/mysql";
import { mysql2ConnectionAdapter, mysql2PoolAdapter } from "@hyperdrive-kit/mysql2";
import { pgClientAdapter, pgPoolAdapter } from "@hyperdrive-kit/pg";
import { postgresAdapter } from "@hyperdrive-kit/postgres";

hyperdrive(postgresAdapter); // Postgres.js `sql`
hyperdrive(pgClientAdapter); // pg `Client`
hyperdrive(pgPoolAdapter, { pool: true }); // pg `Pool` of 5, for parallel queries
hyperdrive(mysql2ConnectionAdapter); // mysql2 promise `Connection`
hyperdrive(mysql2PoolAdapter, { pool: true }); // mysql2 promise `Pool`
hyperdrive(mysqlAdapter); // mysqljs `Connection`
