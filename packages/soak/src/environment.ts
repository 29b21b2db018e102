/**
 * What the soak runs against: a throwaway PostgreSQL and MariaDB with long random passwords, each behind the testing
 * package's fault proxy, their tables, the Prisma clients, and the soak Worker in `wrangler dev` with the bindings
 * `PG` and `MY` through the proxies. `admin` reaches each database directly (not through the proxy) for the fault
 * schedule and the connection counts.
 */
import { stat } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { POSTGRES_JS_4_FLAGS, postgresJs4 } from "@hyperdrive-kit/testing/postgres-js";
import { freePort } from "@hyperdrive-kit/testing/servers";
import {
  cleanupsOnExit,
  type Engine,
  type ProxiedServer,
  startProxiedServer,
  startWranglerDev,
  stopProcess,
  writeWranglerConfig,
} from "@hyperdrive-kit/testing/wrangler-dev";
import mysql from "mysql2/promise";
import pg from "pg";
import { generate } from "../../prisma/test/generate.ts";

/** 64 random bytes, hex: a 132-character password per server and run. */
const PASSWORD_BYTES = 64;

export interface Admin {
  /** Client connections of the Worker the server sees (every connection but the admin's own). */
  connections(): Promise<number>;
  /** Ends every connection of the Worker on the server (`pg_terminate_backend`, `KILL`); resolves to how many. */
  killAll(): Promise<number>;
}

export interface SoakEnvironment {
  servers: Record<Engine, ProxiedServer>;
  admin: Record<Engine, Admin>;
  origin: string;
  /** wrangler dev's inspector (DevTools protocol): the isolate's JavaScript heap. */
  inspectorPort: number;
  /** Every secret that must never reach a body or a log line: passwords and connection strings. */
  secrets: string[];
  /** The Postgres.js major the Worker's `import "postgres"` got (adapter and ORMs alike). */
  postgresJs: 3 | 4;
  close(): Promise<void>;
}

/** HDK_SOAK_POSTGRES_JS: 3 (the workspace's `postgres`) or 4 (`postgres4`, aliased to `postgres` in the bundle). */
function postgresJsMajor(): 3 | 4 {
  const value = process.env.HDK_SOAK_POSTGRES_JS ?? "3";
  if (value !== "3" && value !== "4") throw new Error("HDK_SOAK_POSTGRES_JS must be 3 or 4");
  return value === "4" ? 4 : 3;
}

const ROWS = 40;

/** The Prisma test schemas' clients, generated unless newer than their schema (the typecheck has just made them). */
async function prismaClients(): Promise<void> {
  const schemas = ["pg", "mariadb"];
  const stale = await Promise.all(
    schemas.map(async (name) => {
      const schema = new URL(`../../prisma/test/${name}/schema.prisma`, import.meta.url);
      const client = new URL(`../../prisma/.generated/${name}/client.ts`, import.meta.url);
      const made = await stat(client).catch(() => undefined);
      return !made || made.mtimeMs < (await stat(schema)).mtimeMs;
    }),
  );
  const needed = schemas.filter((_, i) => stale[i]);
  if (needed.length > 0) await generate(needed);
}

async function withPg<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on("error", () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

async function withMysql<T>(url: string, fn: (db: mysql.Connection) => Promise<T>): Promise<T> {
  const db = await mysql.createConnection({ uri: url, connectTimeout: 3000 });
  db.on("error", () => {});
  try {
    return await fn(db);
  } finally {
    await db.end().catch(() => db.destroy());
  }
}

const CLIENT_BACKENDS =
  "from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and backend_type = 'client backend'";

function postgresAdmin(url: string): Admin {
  return {
    connections: () =>
      withPg(url, async (c) => Number((await c.query(`select count(*) as n ${CLIENT_BACKENDS}`)).rows[0].n)),
    killAll: () =>
      withPg(url, async (c) => (await c.query(`select pg_terminate_backend(pid) ${CLIENT_BACKENDS}`)).rowCount ?? 0),
  };
}

const OTHER_SESSIONS = "from information_schema.processlist where user = 'hdk' and id <> connection_id()";

function mysqlAdmin(url: string): Admin {
  return {
    connections: () =>
      withMysql(url, async (db) =>
        Number((await db.query<mysql.RowDataPacket[]>(`select count(*) as n ${OTHER_SESSIONS}`))[0][0]?.n),
      ),
    killAll: () =>
      withMysql(url, async (db) => {
        const [rows] = await db.query<mysql.RowDataPacket[]>(`select id ${OTHER_SESSIONS}`);
        for (const { id } of rows) await db.query(`KILL ${Number(id)}`).catch(() => {});
        return rows.length;
      }),
  };
}

async function createTables(servers: Record<Engine, ProxiedServer>): Promise<void> {
  await withPg(servers.postgres.server.url, async (c) => {
    await c.query("create table if not exists soak_log (id serial primary key, request int not null)");
    await c.query("create table if not exists soak_rows (n int primary key)");
    await c.query(`insert into soak_rows select generate_series(1, ${ROWS}) on conflict do nothing`);
  });
  await withMysql(servers.mysql.server.url, async (db) => {
    await db.query("create table if not exists soak_log (id int auto_increment primary key, request int not null)");
    await db.query("create table if not exists soak_rows (n int primary key)");
    const values = Array.from({ length: ROWS }, (_, i) => `(${i + 1})`).join(",");
    await db.query(`insert ignore into soak_rows (n) values ${values}`);
  });
}

export async function startSoak(onOutput: (text: string) => void): Promise<SoakEnvironment> {
  const postgresJs = postgresJsMajor();
  const { cleanups, close } = cleanupsOnExit();
  try {
    const [postgres, mysqlServer] = await Promise.all([
      startProxiedServer("postgres", cleanups, { passwordBytes: PASSWORD_BYTES }),
      startProxiedServer("mysql", cleanups, { passwordBytes: PASSWORD_BYTES }),
      prismaClients(),
    ]);
    const servers = { postgres, mysql: mysqlServer } as Record<Engine, ProxiedServer>;
    await createTables(servers);
    const { config } = await writeWranglerConfig(
      {
        name: "hyperdrive-kit-soak",
        main: fileURLToPath(new URL("../worker/index.ts", import.meta.url)),
        hyperdrive: { PG: servers.postgres.url, MY: servers.mysql.url },
        ...(postgresJs === 4 ? { compatibilityFlags: POSTGRES_JS_4_FLAGS, alias: { postgres: postgresJs4() } } : {}),
      },
      cleanups,
    );
    const port = await freePort();
    const inspectorPort = await freePort();
    const wrangler = await startWranglerDev({
      config,
      port,
      inspectorPort,
      onOutput,
      logLevel: "log",
      readyPath: "/none/none",
    });
    cleanups.push(() => stopProcess(wrangler));
    const secrets = Object.values(servers).flatMap(({ server, url }) => [
      decodeURIComponent(new URL(server.url).password),
      server.url,
      url,
    ]);
    return {
      servers,
      admin: { postgres: postgresAdmin(servers.postgres.server.url), mysql: mysqlAdmin(servers.mysql.server.url) },
      origin: `http://127.0.0.1:${port}`,
      inspectorPort,
      secrets,
      postgresJs,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
