/**
 * PostgreSQL in Hyperdrive's order. The TLS answer, the handshake and the authentication method are read off the wire
 * (an SSLRequest and a StartupMessage of our own), because a driver hides them; login, the test query and the
 * permission check then go through `pg`, which speaks every authentication method Hyperdrive does.
 */
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import pg from "pg";
import { describeError, type Probe } from "./context.ts";
import { bounded, ioFailure, Reader, tlsFailure } from "./io.ts";
import { clientTls, handshake, tlsProblem } from "./tls.ts";

const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]); // length 8, code 80877103

function startupMessage(user: string, database: string): Buffer {
  const params = Buffer.from(`user\0${user}\0database\0${database}\0application_name\0hyperdrive-kit doctor\0\0`);
  const head = Buffer.alloc(8);
  head.writeInt32BE(8 + params.length, 0);
  head.writeInt32BE(196608, 4); // protocol 3.0
  return Buffer.concat([head, params]);
}

/** ErrorResponse fields: S(everity), C(ode), M(essage)… */
function errorFields(payload: Buffer): Record<string, string> {
  const fields: Record<string, string> = {};
  let offset = 0;
  while (offset < payload.length && payload[offset] !== 0) {
    const type = String.fromCharCode(payload[offset] as number);
    const end = payload.indexOf(0, offset + 1);
    if (end < 0) break;
    fields[type] = payload.toString("utf8", offset + 1, end);
    offset = end + 1;
  }
  return fields;
}

const UNSUPPORTED_AUTH: Record<number, string> = {
  2: "Kerberos V5",
  6: "SCM credentials",
  7: "GSSAPI",
  8: "GSSAPI",
  9: "SSPI",
};

const SUPPORTED = "Hyperdrive supports password, md5 and SCRAM-SHA-256 only";

/** Classifies a server error that ends the connection before or during login. */
function serverRefusal(probe: Probe, check: string, fields: Record<string, string>): false {
  const message = `${fields.M ?? "error"} (SQLSTATE ${fields.C ?? "?"})`;
  if (/certificate/i.test(fields.M ?? "")) {
    return probe.fail(
      check,
      "HDK_CONFIG_CLIENT_CERT_REQUIRED",
      `Server return error and closed connection: ${message}`,
    );
  }
  if (fields.C === "3D000") return probe.fail(check, "HDK_CONFIG_DATABASE_NOT_FOUND", `2014: ${message}`);
  if (fields.C === "28P01" || fields.C === "28000") {
    return probe.fail(check, "HDK_CONFIG_INVALID_CREDENTIALS", `2013: ${message}`);
  }
  return probe.fail(check, "HDK_CONFIG_GENERIC", `2015: ${message}`);
}

function ioProblem(probe: Probe, check: string, error: unknown, waitingFor: string): false {
  const failure = ioFailure(error);
  switch (failure.kind) {
    case "timeout":
      return probe.fail(
        check,
        "HDK_CONFIG_UNREACHABLE",
        `2010: connected, but no answer to the ${waitingFor} within ${probe.settings.timeoutMs} ms (a firewall or proxy that swallows traffic, or not a PostgreSQL server)`,
        "answer",
      );
    case "reset":
    case "refused":
      return probe.fail(
        check,
        "HDK_CONFIG_CONNECTION_REFUSED",
        `2011: the connection was reset while waiting for the ${waitingFor}`,
        "answer",
      );
    default:
      return probe.fail(
        check,
        "HDK_CONFIG_GENERIC",
        `2015: the server closed the connection without answering the ${waitingFor} (${failure.message})`,
        "answer",
      );
  }
}

/** Runs every PostgreSQL check on a connected socket; `address` is the IP it is connected to. */
export async function probePostgres(probe: Probe, socket: Socket, address: string): Promise<void> {
  const { url, sslmode, timeoutMs } = probe.settings;
  let reader = new Reader(socket);
  let stream: Socket | TLSSocket = socket;
  let tls = false;
  try {
    if (sslmode !== "disable") {
      probe.begin(`asking ${url.host} for TLS`);
      let answer: string;
      try {
        socket.write(SSL_REQUEST);
        answer = (await reader.read(1, timeoutMs, "SSLRequest")).toString("latin1");
      } catch (error) {
        return void ioProblem(probe, "preflight.tls", error, "SSLRequest");
      }
      if (answer === "S") {
        if (reader.detach().length > 0) {
          // Bytes after 'S' before the handshake: a man-in-the-middle injection (CVE-2021-23222).
          return void probe.fail(
            "preflight.tls",
            "HDK_CONFIG_GENERIC",
            "2015: unexpected data after the server's TLS answer",
            "answer",
          );
        }
        probe.ok("preflight.tls", "2012: the server offers TLS (SSLRequest answered S)");
        const secure = await handshake(probe, socket);
        if (!secure) return;
        stream = secure;
        tls = true;
        reader = new Reader(stream);
      } else if (answer === "N") {
        probe.fail(
          "preflight.tls",
          "HDK_CONFIG_TLS_UNSUPPORTED",
          "2012: the server answered the SSLRequest with N: TLS is off",
        );
        // Hyperdrive stops here; the doctor goes on in plain text so one run shows every problem.
      } else {
        return void probe.fail(
          "preflight.tls",
          "HDK_CONFIG_GENERIC",
          `2015: unexpected answer to the SSLRequest (${JSON.stringify(answer)})`,
          "answer",
        );
      }
    }

    probe.begin("sending the startup message");
    let type: string;
    let payload: Buffer;
    try {
      stream.write(startupMessage(url.user, url.database));
      const head = await reader.read(5, timeoutMs, "startup message");
      type = head.toString("latin1", 0, 1);
      payload = await reader.read(head.readInt32BE(1) - 4, timeoutMs, "startup message");
    } catch (error) {
      if (tls && tlsFailure(error) === "client-certificate")
        return void tlsProblem(probe, error, "preflight.auth-method");
      return void ioProblem(probe, "preflight.auth-method", error, "startup message");
    }
    if (type === "E") return void serverRefusal(probe, "preflight.auth-method", errorFields(payload));
    if (type !== "R") {
      return void probe.fail(
        "preflight.auth-method",
        "HDK_CONFIG_GENERIC",
        `2015: unexpected message ${JSON.stringify(type)} after startup`,
        "answer",
      );
    }
    const code = payload.readInt32BE(0);
    let method: string;
    if (code === 0) method = "none (trust)";
    else if (code === 3) method = "password";
    else if (code === 5) method = "md5";
    else if (code === 10) {
      const mechanisms = payload.toString("utf8", 4).split("\0").filter(Boolean);
      if (!mechanisms.includes("SCRAM-SHA-256")) {
        return void probe.fail(
          "preflight.auth-method",
          "HDK_CONFIG_INVALID_CREDENTIALS",
          `2013: the server offers SASL ${mechanisms.join(", ")}; ${SUPPORTED}`,
          "auth-method",
        );
      }
      method = "SCRAM-SHA-256";
    } else {
      return void probe.fail(
        "preflight.auth-method",
        "HDK_CONFIG_INVALID_CREDENTIALS",
        `2013: the server asks for ${UNSUPPORTED_AUTH[code] ?? `authentication method ${code}`}; ${SUPPORTED}`,
        "auth-method",
      );
    }
    probe.ok("preflight.auth-method", `authentication method: ${method}`);
    reader.detach();
    stream.end();
    await login(probe, address, tls, method);
  } finally {
    reader.detach();
    stream.destroy();
    socket.destroy();
  }
}

const PERMISSIONS = `
select current_setting('transaction_read_only') = 'on' as read_only,
       pg_is_in_recovery() as standby,
       exists (select 1 from pg_class c join pg_namespace n on n.oid = c.relnamespace
               where c.relkind in ('r', 'p') and n.nspname not like 'pg\\_%' and n.nspname <> 'information_schema'
                 and has_table_privilege(c.oid, 'INSERT, UPDATE, DELETE')) as writable_table,
       exists (select 1 from pg_namespace n
               where n.nspname not like 'pg\\_%' and n.nspname <> 'information_schema'
                 and has_schema_privilege(n.oid, 'CREATE')) as creatable_schema,
       (select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where c.relkind in ('r', 'p', 'v', 'm') and n.nspname not like 'pg\\_%' and n.nspname <> 'information_schema'
           and has_table_privilege(c.oid, 'SELECT'))::int as readable`;

interface Permissions {
  read_only: boolean;
  standby: boolean;
  writable_table: boolean;
  creatable_schema: boolean;
  readable: number;
}

async function login(probe: Probe, address: string, tls: boolean, method: string): Promise<void> {
  const { url, timeoutMs } = probe.settings;
  const client = new pg.Client({
    host: address,
    port: url.port,
    user: url.user,
    password: url.password,
    database: url.database,
    application_name: "hyperdrive-kit doctor",
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
    // The handshake step verified the certificate already; this connection only logs in.
    ssl: tls
      ? {
          rejectUnauthorized: false,
          ...clientTls(probe),
        }
      : false,
  });
  client.on("error", () => {}); // a server that goes away after login must not crash the CLI
  try {
    probe.begin(`logging in as ${url.user}`);
    try {
      await client.connect();
    } catch (error) {
      const fields = { C: (error as { code?: string }).code ?? "", M: describeError(error) };
      if (fields.C === "3D000")
        probe.ok("preflight.credentials", `2013: credentials accepted for ${url.user} (${method})`);
      if (fields.C)
        return void serverRefusal(probe, fields.C === "3D000" ? "preflight.database" : "preflight.credentials", fields);
      return void ioProblem(probe, "preflight.credentials", error, "login");
    }
    probe.ok("preflight.credentials", `2013: logged in as ${url.user} (${method})`);
    probe.begin("checking the database");
    probe.ok("preflight.database", `2014: database "${url.database}" exists`);

    probe.begin("running the test query ;");
    try {
      await client.query(";");
    } catch (error) {
      return void probe.fail(
        "preflight.test-query",
        "HDK_CONFIG_TEST_QUERY_FAILED",
        `2016: the test query ; failed: ${describeError(error)}`,
      );
    }
    probe.ok("preflight.test-query", "2016: the empty test query ; succeeds");

    probe.begin("checking read and write permissions");
    let permissions: Permissions;
    try {
      permissions = (await client.query<Permissions>(PERMISSIONS)).rows[0] as Permissions;
    } catch (error) {
      return void probe.fail(
        "preflight.permissions",
        "HDK_CONFIG_TEST_QUERY_FAILED",
        `2016: reads fail: ${describeError(error)}`,
      );
    }
    const blockers = [
      ...(permissions.standby ? ["the server is a read-only standby (pg_is_in_recovery)"] : []),
      ...(permissions.read_only && !permissions.standby
        ? ["transactions are read-only (default_transaction_read_only = on)"]
        : []),
      ...(!permissions.writable_table && !permissions.creatable_schema
        ? [`${url.user} has no INSERT, UPDATE or DELETE on any table and no CREATE on any schema`]
        : []),
    ];
    if (blockers.length > 0) {
      probe.fail(
        "preflight.permissions",
        "HDK_CONFIG_TEST_QUERY_FAILED",
        `2016: ${url.user} can read but not write: ${blockers.join("; ")}`,
      );
    } else {
      probe.ok(
        "preflight.permissions",
        `2016: ${url.user} can read (${permissions.readable} table${permissions.readable === 1 ? "" : "s"}) and write`,
      );
    }
  } finally {
    await bounded(client.end(), timeoutMs, "closing").catch(() => {});
  }
}
