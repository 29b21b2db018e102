/**
 * Node-side self-check of the test infrastructure: a throwaway MariaDB, the fault proxy in front of it, and
 * both fake Hyperdrive origins against real drivers.
 *
 *   pnpm exec node --experimental-strip-types packages/testing/scripts/self-check.ts
 */
import { strict as assert } from "node:assert";
import { createRequire } from "node:module";
import mysql from "mysql2/promise";
import {
  HYPERDRIVE_POOL_ERROR,
  HYPERDRIVE_PREPARE_ERROR,
  startFakeMysqlOrigin,
  startFakePostgresOrigin,
} from "../src/fake-origin/index.ts";
import { type FaultProxy, startFaultProxy } from "../src/proxy/index.ts";
import { type RunningServer, startMariadb } from "../src/servers/index.ts";

const OVERALL_TIMEOUT_MS = 120_000;
const cleanups: Array<() => Promise<void>> = [];
let failed = false;

const watchdog = setTimeout(() => {
  console.error(`self-check: still running after ${OVERALL_TIMEOUT_MS} ms, giving up`);
  process.exit(1);
}, OVERALL_TIMEOUT_MS);
watchdog.unref();

async function step(name: string, fn: () => Promise<string | undefined>): Promise<void> {
  const started = performance.now();
  try {
    const detail = await fn();
    console.log(`ok   ${name} (${Math.round(performance.now() - started)} ms)${detail ? ` ${detail}` : ""}`);
  } catch (error) {
    failed = true;
    console.log(`FAIL ${name} (${Math.round(performance.now() - started)} ms): ${describe(error)}`);
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = field(error, "code");
  return code === undefined ? error.message : `[${String(code)}] ${error.message}`;
}

function field(value: unknown, key: string): unknown {
  return typeof value === "object" && value !== null ? Reflect.get(value, key) : undefined;
}

/** The rejection of `promise`; fails if it resolves. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection, got a result");
}

function expectError(error: unknown, code: string, message: string): string {
  assert.equal(field(error, "code"), code, `code of ${describe(error)}`);
  assert.equal(field(error, "message"), message);
  return `→ ${code} "${message}"`;
}

// pg and postgres are dependencies of their adapter packages, not of this one: load them from there.
interface PgClient {
  connect(): Promise<void>;
  query(text: string, values?: unknown[]): Promise<unknown>;
  end(): Promise<void>;
}
interface PgModule {
  Client: new (config: { connectionString: string; connectionTimeoutMillis?: number }) => PgClient;
}
interface PostgresSql {
  unsafe(query: string, values?: unknown[]): Promise<unknown>;
  end(options?: { timeout?: number }): Promise<void>;
}
type PostgresModule = (url: string, options: Record<string, unknown>) => PostgresSql;

async function loadSibling(pkg: string, name: string): Promise<unknown> {
  const require = createRequire(new URL(`../../${pkg}/package.json`, import.meta.url));
  let resolved: string;
  try {
    resolved = require.resolve(name);
  } catch (cause) {
    throw new Error(`cannot find \`${name}\` in packages/${pkg}; run \`pnpm install\` at the repository root`, {
      cause,
    });
  }
  const loaded: unknown = await import(resolved);
  return field(loaded, "default") ?? loaded;
}

let server: RunningServer | undefined;
let proxy: FaultProxy | undefined;

await step("start MariaDB", async () => {
  server = await startMariadb();
  cleanups.push(() => server?.stop() ?? Promise.resolve());
  const connection = await mysql.createConnection({ uri: server.url });
  const [rows] = await connection.query("SELECT VERSION() AS version");
  await connection.end();
  const version: unknown = Array.isArray(rows) ? field(rows[0], "version") : undefined;
  return `${String(version)} at ${server.url}`;
});

if (server) {
  const target = new URL(server.url);
  // The server's credentials, but the proxy's address (`uri` would win over host and port in mysql2).
  const viaProxy = (port: number, connectTimeout = 5_000) =>
    mysql.createConnection({
      host: "127.0.0.1",
      port,
      user: decodeURIComponent(target.username),
      password: decodeURIComponent(target.password),
      database: target.pathname.slice(1),
      connectTimeout,
    });

  await step("fault proxy: pass", async () => {
    proxy = await startFaultProxy({ target: { host: target.hostname, port: Number(target.port) } });
    cleanups.push(() => proxy?.close() ?? Promise.resolve());
    const connection = await viaProxy(proxy.port);
    const [rows] = await connection.query("SELECT 1 AS one");
    assert.deepEqual(rows, [{ one: 1 }]);
    assert.equal(proxy.connections, 1);
    await connection.end();
    return `stats ${JSON.stringify(proxy.stats)}`;
  });

  if (proxy) {
    const p = proxy;
    // Bytes the server sends during connect + auth, so reset-after can let the handshake through.
    const before = p.stats.bytesToClient;
    const probe = await viaProxy(p.port);
    const handshakeBytes = p.stats.bytesToClient - before;
    await probe.end();

    await step("fault proxy: delay adds latency each way", async () => {
      const connection = await viaProxy(p.port);
      p.setMode({ kind: "delay", ms: 150 });
      const delayed = await viaProxy(p.port);
      const started = performance.now();
      await delayed.query("SELECT 1");
      const elapsed = performance.now() - started;
      assert.ok(elapsed >= 290, `query took ${Math.round(elapsed)} ms, expected ≥ 300`);
      // Existing connections keep the mode they were accepted under.
      const fastStart = performance.now();
      await connection.query("SELECT 1");
      assert.ok(performance.now() - fastStart < 150, "a connection accepted in pass mode got delayed");
      await Promise.all([connection.end(), delayed.end()]);
      return `SELECT 1 took ${Math.round(elapsed)} ms`;
    });

    await step("fault proxy: blackhole makes connect time out", async () => {
      p.setMode({ kind: "blackhole" });
      const started = performance.now();
      const error = await rejection(viaProxy(p.port, 1_000));
      const elapsed = performance.now() - started;
      assert.equal(field(error, "code"), "ETIMEDOUT", describe(error));
      assert.ok(elapsed >= 900 && elapsed < 3_000, `timed out after ${Math.round(elapsed)} ms`);
      return `→ ${describe(error)} after ${Math.round(elapsed)} ms`;
    });

    await step("fault proxy: reset-after fails the first query", async () => {
      p.setMode({ kind: "reset-after", bytes: handshakeBytes + 1 });
      const connection = await viaProxy(p.port);
      const error = await rejection(connection.query("SELECT REPEAT('x', 10000)"));
      connection.destroy();
      assert.match(String(field(error, "code")), /ECONNRESET|PROTOCOL_CONNECTION_LOST/, describe(error));
      return `→ ${describe(error)} (handshake was ${handshakeBytes} bytes)`;
    });

    await step("fault proxy: refuse", async () => {
      p.setMode({ kind: "refuse" });
      const error = await rejection(viaProxy(p.port));
      assert.match(String(field(error, "code")), /ECONNRESET|PROTOCOL_CONNECTION_LOST/, describe(error));
      return `→ ${describe(error)}`;
    });

    await step("fault proxy: setMode(pass, { resetAll }) kills open connections", async () => {
      p.setMode({ kind: "pass" });
      const connection = await viaProxy(p.port);
      connection.on("error", () => {});
      p.setMode({ kind: "pass" }, { resetAll: true });
      const error = await rejection(connection.query("SELECT 1"));
      connection.destroy();
      const fresh = await viaProxy(p.port);
      await fresh.query("SELECT 1");
      await fresh.end();
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(p.connections, 0, "connections still counted as open");
      return `→ ${describe(error)}; stats ${JSON.stringify(p.stats)}`;
    });
  }
}

await step("fake PostgreSQL origin: pg", async () => {
  const pg = (await loadSibling("pg", "pg")) as PgModule;
  const origin = await startFakePostgresOrigin();
  try {
    const client = new pg.Client({ connectionString: `postgres://any:thing@127.0.0.1:${origin.port}/db` });
    await client.connect();
    const simple = expectError(await rejection(client.query("SELECT 1")), "58000", HYPERDRIVE_POOL_ERROR);
    // Extended protocol, and the connection is still usable after the first error.
    expectError(await rejection(client.query("SELECT $1::int", [1])), "58000", HYPERDRIVE_POOL_ERROR);
    await client.end();
    return simple;
  } finally {
    await origin.close();
  }
});

await step("fake PostgreSQL origin: pg, failAt startup", async () => {
  const pg = (await loadSibling("pg", "pg")) as PgModule;
  const origin = await startFakePostgresOrigin({ failAt: "startup", error: "origin down" });
  try {
    const client = new pg.Client({ connectionString: `postgres://any:thing@127.0.0.1:${origin.port}/db` });
    return expectError(await rejection(client.connect()), "58000", "origin down");
  } finally {
    await origin.close();
  }
});

await step("fake PostgreSQL origin: postgres", async () => {
  const postgres = (await loadSibling("postgres", "postgres")) as PostgresModule;
  const origin = await startFakePostgresOrigin();
  // fetch_types: false, or postgres.js's own array-type lookup after connect fails unhandled against this origin.
  const sql = postgres(`postgres://any:thing@127.0.0.1:${origin.port}/db`, { max: 1, fetch_types: false });
  try {
    const simple = expectError(await rejection(sql.unsafe("SELECT 1")), "58000", HYPERDRIVE_POOL_ERROR);
    expectError(await rejection(sql.unsafe("SELECT $1::int", [1])), "58000", HYPERDRIVE_POOL_ERROR);
    return simple;
  } finally {
    await sql.end({ timeout: 1 });
    await origin.close();
  }
});

await step("fake MySQL origin: mysql2", async () => {
  const origin = await startFakeMysqlOrigin();
  try {
    const connection = await mysql.createConnection({ uri: `mysql://any:thing@127.0.0.1:${origin.port}/db` });
    const query = await rejection(connection.query("SELECT 1"));
    assert.equal(field(query, "message"), HYPERDRIVE_POOL_ERROR);
    assert.equal(field(query, "errno"), 1105);
    assert.equal(field(query, "sqlState"), "HY000");
    const execute = await rejection(connection.execute("SELECT ?", [1]));
    assert.equal(field(execute, "message"), HYPERDRIVE_PREPARE_ERROR);
    await connection.query("DO 1").catch(() => {}); // still usable
    await connection.end();
    return `→ query: "${String(field(query, "message"))}", execute: "${String(field(execute, "message"))}"`;
  } finally {
    await origin.close();
  }
});

await step("fake MySQL origin: mysql2, failAt startup", async () => {
  const origin = await startFakeMysqlOrigin({ failAt: "startup" });
  try {
    const error = await rejection(
      mysql.createConnection({ uri: `mysql://any:thing@127.0.0.1:${origin.port}/db`, connectTimeout: 2_000 }),
    );
    assert.equal(field(error, "message"), HYPERDRIVE_POOL_ERROR);
    return `→ ${describe(error)}`;
  } finally {
    await origin.close();
  }
});

await step("stop everything", async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  return undefined;
});

console.log(failed ? "self-check FAILED" : "self-check passed");
process.exitCode = failed ? 1 : 0;
