/**
 * `pnpm bench`: what the simulator adds per query, as ratios against the same driver connected to the database
 * directly, in one run. Sequential queries on one client: the latency a Worker's awaited query sees.
 */
import { startMariadb, startPostgres } from "@hyperdrive-kit/testing/servers";
import mysql from "mysql2/promise";
import pg from "pg";
import postgres from "postgres";
import { startSimulator } from "../src/index.ts";

const ROUNDS = 5;
const QUERIES = 1000;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

async function perQueryMicros(run: (i: number) => Promise<unknown>): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < QUERIES; i++) await run(i);
  return ((performance.now() - started) / QUERIES) * 1000;
}

/** Median per-query time of `a` and `b`, alternating which runs first in each round. */
async function compare(a: (i: number) => Promise<unknown>, b: (i: number) => Promise<unknown>) {
  const times = { a: [] as number[], b: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    if (round % 2 === 0) {
      times.a.push(await perQueryMicros(a));
      times.b.push(await perQueryMicros(b));
    } else {
      times.b.push(await perQueryMicros(b));
      times.a.push(await perQueryMicros(a));
    }
  }
  return { a: median(times.a), b: median(times.b) };
}

const server = await startPostgres();
const mariadb = await startMariadb();
const uncached = await startSimulator({ origin: server.url, caching: false });
const cached = await startSimulator({ origin: server.url });
const mysqlUncached = await startSimulator({ origin: mariadb.url, caching: false });
const clients: Array<{ end(): Promise<unknown> }> = [];
const pgClient = async (url: string) => {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  clients.push(client);
  return client;
};
const postgresClient = (url: string) => {
  const sql = postgres(url, { max: 1, fetch_types: false, prepare: true });
  clients.push(sql);
  return sql;
};

try {
  const rows: Array<[string, number, number]> = [];
  const direct = await pgClient(server.url);
  const viaUncached = await pgClient(uncached.localConnectionString);
  const viaCached = await pgClient(cached.localConnectionString);

  let r = await compare(
    () => direct.query("select 1"),
    () => viaUncached.query("select 1"),
  );
  rows.push(["pg, simple query, caching disabled", r.a, r.b]);
  r = await compare(
    (i) => direct.query("select $1::int as n", [i]),
    (i) => viaUncached.query("select $1::int as n", [i]),
  );
  rows.push(["pg, parameterized (unnamed statement), caching disabled", r.a, r.b]);
  r = await compare(
    (i) => direct.query({ name: "n", text: "select $1::int as n", values: [i] }),
    (i) => viaUncached.query({ name: "n", text: "select $1::int as n", values: [i] }),
  );
  rows.push(["pg, named statement, caching disabled", r.a, r.b]);
  r = await compare(
    () => direct.query("select $1::int as n", [1]),
    () => viaCached.query("select $1::int as n", [1]),
  );
  rows.push(["pg, parameterized, cache hit", r.a, r.b]);

  const sqlDirect = postgresClient(server.url);
  const sqlVia = postgresClient(uncached.localConnectionString);
  r = await compare(
    (i) => sqlDirect.unsafe("select $1::int as n", [i], { prepare: true }),
    (i) => sqlVia.unsafe("select $1::int as n", [i], { prepare: true }),
  );
  rows.push(["Postgres.js, prepared, caching disabled", r.a, r.b]);

  const myDirect = await mysql.createConnection({ uri: mariadb.url });
  const myVia = await mysql.createConnection({ uri: mysqlUncached.localConnectionString });
  clients.push(myDirect, myVia);
  r = await compare(
    (i) => myDirect.query("select ? as n", [i]),
    (i) => myVia.query("select ? as n", [i]),
  );
  rows.push(["mysql2, query(), caching disabled", r.a, r.b]);

  console.log(`Simulator overhead per query (median of ${ROUNDS} rounds of ${QUERIES} sequential queries)`);
  console.log("| case | direct µs | via simulator µs | ratio |");
  console.log("| --- | ---: | ---: | ---: |");
  for (const [name, a, b] of rows)
    console.log(`| ${name} | ${a.toFixed(0)} | ${b.toFixed(0)} | ${(b / a).toFixed(2)} |`);
} finally {
  for (const client of clients) await client.end().catch(() => {});
  await uncached.close();
  await cached.close();
  await mysqlUncached.close();
  await server.stop();
  await mariadb.stop();
}
