/**
 * MySQL and MariaDB in Hyperdrive's order. The server greeting (TLS capability, default authentication plugin) and
 * the TLS handshake are read off the wire; login, the test query and the permission check go through `mysql2`.
 */
import type { Socket } from "node:net";
import mysql from "mysql2/promise";
import { describeError, type Probe } from "./context.ts";
import { bounded, ioFailure, Reader } from "./io.ts";
import { clientTls, handshake } from "./tls.ts";

const CLIENT_LONG_PASSWORD = 0x1;
const CLIENT_PROTOCOL_41 = 0x200;
const CLIENT_SSL = 0x800;
const CLIENT_SECURE_CONNECTION = 0x8000;
const CLIENT_PLUGIN_AUTH = 0x80000;

/** The plugins Hyperdrive speaks to a MySQL origin. */
const SUPPORTED_PLUGINS = ["caching_sha2_password", "mysql_native_password"];
const SUPPORTED = "Hyperdrive supports caching_sha2_password and mysql_native_password only";

interface Greeting {
  version: string;
  capabilities: number;
  plugin?: string;
}

async function readPacket(reader: Reader, timeoutMs: number, what: string): Promise<Buffer> {
  const head = await reader.read(4, timeoutMs, what);
  const length = head.readUIntLE(0, 3);
  return reader.read(length, timeoutMs, what);
}

/** Parses the initial handshake packet (protocol 10), or throws the server's refusal (an ERR packet). */
function parseGreeting(payload: Buffer): Greeting | { errno: number; message: string } {
  if (payload[0] === 0xff) {
    return { errno: payload.readUInt16LE(1), message: payload.toString("utf8", 3).replace(/^#\w{5}/, "") };
  }
  let offset = 1;
  const versionEnd = payload.indexOf(0, offset);
  const version = payload.toString("latin1", offset, versionEnd);
  offset = versionEnd + 1 + 4 + 8 + 1; // connection id, auth data part 1, filler
  const low = payload.readUInt16LE(offset);
  offset += 2 + 1 + 2; // capabilities (low), charset, status
  const high = offset + 2 <= payload.length ? payload.readUInt16LE(offset) : 0;
  offset += 2;
  const capabilities = (low | (high << 16)) >>> 0;
  const authDataLength = payload[offset] ?? 0;
  offset += 1 + 10; // auth data length, reserved
  if (capabilities & CLIENT_SECURE_CONNECTION) offset += Math.max(13, authDataLength - 8);
  let plugin: string | undefined;
  if (capabilities & CLIENT_PLUGIN_AUTH && offset < payload.length) {
    const end = payload.indexOf(0, offset);
    plugin = payload.toString("latin1", offset, end < 0 ? payload.length : end);
  }
  return { version, capabilities, ...(plugin ? { plugin } : {}) };
}

function sslRequest(): Buffer {
  const payload = Buffer.alloc(32);
  payload.writeUInt32LE(
    CLIENT_LONG_PASSWORD | CLIENT_PROTOCOL_41 | CLIENT_SSL | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH,
    0,
  );
  payload.writeUInt32LE(16 * 1024 * 1024, 4);
  payload[8] = 33; // utf8_general_ci
  const head = Buffer.from([32, 0, 0, 1]); // length 32, sequence 1
  return Buffer.concat([head, payload]);
}

/** Runs every MySQL check on a connected socket; `address` is the IP it is connected to. */
export async function probeMysql(probe: Probe, socket: Socket, address: string): Promise<void> {
  const { url, sslmode, timeoutMs } = probe.settings;
  const reader = new Reader(socket);
  let tls = false;
  let greeting: Greeting;
  try {
    probe.begin(`waiting for ${url.host}'s greeting`);
    let parsed: ReturnType<typeof parseGreeting>;
    try {
      parsed = parseGreeting(await readPacket(reader, timeoutMs, "server greeting"));
    } catch (error) {
      const failure = ioFailure(error);
      if (failure.kind === "timeout") {
        return void probe.fail(
          "preflight.tls",
          "HDK_CONFIG_UNREACHABLE",
          `2010: connected, but no server greeting within ${timeoutMs} ms (a firewall or proxy that swallows traffic, or not a MySQL server)`,
          "answer",
        );
      }
      return void probe.fail(
        "preflight.tls",
        failure.kind === "reset" ? "HDK_CONFIG_CONNECTION_REFUSED" : "HDK_CONFIG_GENERIC",
        `${failure.kind === "reset" ? "2011" : "2015"}: the server closed the connection before its greeting (${failure.message})`,
        "answer",
      );
    }
    if ("errno" in parsed) {
      // e.g. 1129 host blocked, 1130 host not allowed, 1040 too many connections.
      return void probe.fail(
        "preflight.tls",
        parsed.errno === 1130 || parsed.errno === 1129 ? "HDK_CONFIG_CONNECTION_REFUSED" : "HDK_CONFIG_GENERIC",
        `${parsed.errno === 1130 || parsed.errno === 1129 ? "2011" : "2015"}: the server refused the connection: ${parsed.message} (errno ${parsed.errno})`,
        parsed.errno === 1130 || parsed.errno === 1129 ? "host-not-allowed" : undefined,
      );
    }
    greeting = parsed;

    if (sslmode !== "disable") {
      if (greeting.capabilities & CLIENT_SSL) {
        probe.ok("preflight.tls", `2012: ${greeting.version} offers TLS (CLIENT_SSL capability)`);
        reader.detach();
        socket.write(sslRequest());
        const secure = await handshake(probe, socket);
        if (!secure) return;
        tls = true;
        secure.destroy();
      } else {
        probe.fail(
          "preflight.tls",
          "HDK_CONFIG_TLS_UNSUPPORTED",
          `2012: ${greeting.version} does not offer TLS (no CLIENT_SSL capability: have_ssl is DISABLED)`,
        );
        // Hyperdrive stops here; the doctor goes on in plain text so one run shows every problem.
      }
    }
  } finally {
    reader.detach();
    socket.destroy();
  }
  // Only the server's default: an account with another plugin gets an AuthSwitchRequest, which the login checks.
  const plugin = greeting.plugin ?? "mysql_native_password";
  probe.begin("authentication method");
  probe.ok(
    "preflight.auth-method",
    `server default authentication plugin: ${plugin}${SUPPORTED_PLUGINS.includes(plugin) ? "" : " (not one Hyperdrive speaks; the account's own plugin is checked at login)"}`,
  );
  await login(probe, address, tls);
}

class UnsupportedPlugin extends Error {
  readonly plugin: string;

  constructor(plugin: string) {
    super(`unsupported authentication plugin ${plugin}`);
    this.plugin = plugin;
  }
}

// Plugins mysql2 would speak but Hyperdrive does not: refuse them here the way Hyperdrive would.
const refuse = (plugin: string) => () => () => Promise.reject(new UnsupportedPlugin(plugin));

async function login(probe: Probe, address: string, tls: boolean): Promise<void> {
  const { url, timeoutMs } = probe.settings;
  probe.begin(`logging in as ${url.user}`);
  let connection: mysql.Connection;
  try {
    connection = await mysql.createConnection({
      host: address,
      port: url.port,
      user: url.user,
      password: url.password,
      database: url.database,
      connectTimeout: timeoutMs,
      // The handshake step verified the certificate already; this connection only logs in.
      ...(tls
        ? {
            ssl: {
              rejectUnauthorized: false,
              ...clientTls(probe),
            },
          }
        : {}),
      authPlugins: {
        sha256_password: refuse("sha256_password"),
        mysql_clear_password: refuse("mysql_clear_password"),
        client_ed25519: refuse("client_ed25519"),
        auth_gssapi_client: refuse("auth_gssapi_client"),
        dialog: refuse("dialog"),
      },
    });
  } catch (error) {
    const errno = (error as { errno?: number }).errno;
    const message = describeError(error);
    const plugin =
      error instanceof UnsupportedPlugin
        ? error.plugin
        : /(?:unknown|unsupported authentication) plugin (\w+)/.exec(message)?.[1];
    if (plugin) {
      return void probe.fail(
        "preflight.credentials",
        "HDK_CONFIG_INVALID_CREDENTIALS",
        `2013: the account uses the ${plugin} authentication plugin; ${SUPPORTED}`,
        "auth-method",
      );
    }
    // 1049: no such database; 1044: no access to it, which is what a missing database looks like without global rights.
    if (errno === 1049 || errno === 1044) {
      probe.ok("preflight.credentials", `2013: credentials accepted for ${url.user}`);
      probe.begin("checking the database");
      return void probe.fail(
        "preflight.database",
        "HDK_CONFIG_DATABASE_NOT_FOUND",
        `2014: ${message} (errno ${errno})`,
      );
    }
    if (errno === 1045) {
      return void probe.fail(
        "preflight.credentials",
        "HDK_CONFIG_INVALID_CREDENTIALS",
        `2013: ${message} (errno 1045)${tls && !probe.settings.clientCert ? "; if the account REQUIREs X509, SSL with a certificate, SUBJECT or ISSUER, the same error means a client certificate is missing: pass --client-cert and --client-key" : ""}`,
      );
    }
    const failure = ioFailure(error);
    return void probe.fail(
      "preflight.credentials",
      failure.kind === "timeout" ? "HDK_CONFIG_UNREACHABLE" : "HDK_CONFIG_GENERIC",
      `${failure.kind === "timeout" ? "2010" : "2015"}: login failed: ${message}`,
    );
  }
  connection.on("error", () => {}); // a server that goes away after login must not crash the CLI
  try {
    probe.ok("preflight.credentials", `2013: logged in as ${url.user}`);
    probe.begin("checking the database");
    probe.ok("preflight.database", `2014: database "${url.database}" exists`);

    probe.begin("running the test query");
    try {
      await connection.query({ sql: "SELECT 1", timeout: timeoutMs });
    } catch (error) {
      return void probe.fail(
        "preflight.test-query",
        "HDK_CONFIG_TEST_QUERY_FAILED",
        `2016: the test query failed: ${describeError(error)}`,
      );
    }
    probe.ok("preflight.test-query", "2016: the test query SELECT 1 succeeds");

    probe.begin("checking read and write permissions");
    try {
      const [rows] = await connection.query({ sql: PERMISSIONS, timeout: timeoutMs });
      const row = (rows as Record<string, unknown>[])[0] ?? {};
      const privileges = new Set(String(row.privileges ?? "").split(","));
      const readOnly = Number(row.read_only) === 1;
      const canWrite = ["INSERT", "UPDATE", "DELETE", "CREATE"].some((p) => privileges.has(p));
      const canRead = privileges.has("SELECT");
      const blockers = [
        ...(readOnly ? ["the server is read-only (read_only = ON)"] : []),
        ...(!canWrite ? [`${url.user} has no INSERT, UPDATE, DELETE or CREATE privilege on "${url.database}"`] : []),
        ...(!canRead ? [`${url.user} has no SELECT privilege on "${url.database}"`] : []),
      ];
      if (blockers.length > 0) {
        probe.fail("preflight.permissions", "HDK_CONFIG_TEST_QUERY_FAILED", `2016: ${blockers.join("; ")}`);
      } else {
        probe.ok("preflight.permissions", `2016: ${url.user} can read and write "${url.database}"`);
      }
    } catch (error) {
      probe.fail("preflight.permissions", "HDK_CONFIG_TEST_QUERY_FAILED", `2016: reads fail: ${describeError(error)}`);
    }
  } finally {
    await bounded(connection.end(), timeoutMs, "closing").catch(() => connection.destroy());
  }
}

// The current account's privileges that apply to the current database: global, database-level and table-level.
const PERMISSIONS = `
SELECT @@global.read_only AS read_only,
       (SELECT GROUP_CONCAT(DISTINCT PRIVILEGE_TYPE) FROM (
          SELECT PRIVILEGE_TYPE, GRANTEE FROM information_schema.USER_PRIVILEGES
          UNION ALL SELECT PRIVILEGE_TYPE, GRANTEE FROM information_schema.SCHEMA_PRIVILEGES WHERE TABLE_SCHEMA = DATABASE()
          UNION ALL SELECT PRIVILEGE_TYPE, GRANTEE FROM information_schema.TABLE_PRIVILEGES WHERE TABLE_SCHEMA = DATABASE()
        ) AS p WHERE GRANTEE = CONCAT("'", SUBSTRING_INDEX(CURRENT_USER(), '@', 1), "'@'", SUBSTRING_INDEX(CURRENT_USER(), '@', -1), "'")
       ) AS privileges`;
