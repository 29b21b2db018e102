/**
 * Fixes for a local preflight (`--connect`): `wrangler dev` connects from this machine straight to the database of
 * the local connection string, so the catalogue's fixes, written for Hyperdrive reaching an origin over the Internet
 * (firewalls, public DNS, support tickets), do not fit. These name the local database and where its URL is set.
 */
import type { FindingCode } from "../findings.ts";
import type { DatabaseUrl } from "../local-string.ts";

/** Where a local connection string is set when the caller does not say which one it is. */
export const ANY_LOCAL_SOURCE = "localConnectionString or CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_<BINDING>";

/**
 * What went wrong, where one code covers several situations: `tcp` nothing accepted the connection; `answer` something
 * accepted it and then did not answer as the database would; `host-not-allowed` MySQL refused this client address;
 * `auth-method` the account's authentication method is one the drivers do not speak.
 */
export type LocalSituation = "tcp" | "answer" | "host-not-allowed" | "auth-method";

export interface LocalContext {
  url: DatabaseUrl;
  sslmode: string;
  /** Where the URL is set, e.g. `CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_DB in .env`. */
  source?: string;
}

/** `host:port` as the URL names it (never the user, password or the whole URL). */
export function hostPort(url: DatabaseUrl): string {
  return `${url.host.includes(":") ? `[${url.host}]` : url.host}:${url.port}`;
}

/** The fix for a local database, or undefined where the catalogue's own fix applies as it is. */
export function localFix(code: FindingCode, context: LocalContext, situation?: LocalSituation): string | undefined {
  const { url, sslmode } = context;
  const where = context.source ?? ANY_LOCAL_SOURCE;
  const at = hostPort(url);
  const postgres = url.engine === "postgres";
  const server = postgres ? "PostgreSQL" : "MySQL";
  const wrongServer = `check that ${at} is your ${server} server (not another service on that port) and read its log; if it is the wrong address, fix the host/port in ${where}.`;
  switch (code) {
    case "HDK_CONFIG_BAD_HOSTNAME":
      return `${url.host} does not resolve on this machine: fix the host in ${where} (a local database is usually 127.0.0.1 or localhost), or start the container or service that provides the name.`;
    case "HDK_CONFIG_CONNECTION_REFUSED":
      if (situation === "tcp") {
        return `Nothing accepts connections at ${at}: start the database, or fix the host/port in ${where}.`;
      }
      if (situation === "host-not-allowed") {
        return `Your local ${server} does not let ${url.user} connect from this machine's address: create the account for it (\`CREATE USER '${url.user}'@'localhost' …\`, or \`'${url.user}'@'%'\` for a container) and grant it the database; after "blocked because of many connection errors" (1129), run \`FLUSH HOSTS\`.`;
      }
      return `The server at ${at} reset the connection: ${wrongServer}`;
    case "HDK_CONFIG_UNREACHABLE":
      if (situation === "tcp") {
        return `Nothing answers at ${at}: check that the database is running and reachable from this machine (a container's published port, a VM's network, a local firewall), and the host/port in ${where}.`;
      }
      return `Something accepts connections at ${at} but does not answer as ${server} does: ${wrongServer} A stalled server (a full disk, a lock) also answers nothing.`;
    case "HDK_CONFIG_GENERIC":
      return situation === "tcp"
        ? `Connecting to ${at} failed: check that the database is running and the host/port in ${where}.`
        : `The server at ${at} ended the connection or answered in a way the doctor does not expect (the line above says how): ${wrongServer}`;
    case "HDK_CONFIG_TLS_UNSUPPORTED":
      return `The local connection string asks for TLS (sslmode ${sslmode}) but the server at ${at} has none: remove sslmode from ${where} (a local database needs no TLS), or turn TLS on in the server.`;
    case "HDK_CONFIG_CERT_VALIDATION_FAILED":
      return `The local server's certificate does not verify: give the doctor the CA that signed it (\`--ca ca.pem\`), or use sslmode ${postgres ? "require" : "REQUIRED"} (or none) in ${where} for a local database.`;
    case "HDK_CONFIG_CLIENT_CERT_REQUIRED":
      return `${url.user} needs a client certificate on the local server: develop with an account that does not (${postgres ? "a pg_hba.conf line without clientcert" : "no REQUIRE X509 / SSL"}) and put it in ${where}, or pass --client-cert and --client-key to check the certificate.`;
    case "HDK_CONFIG_INVALID_CREDENTIALS":
      if (situation === "auth-method") {
        return postgres
          ? `Give ${url.user} a password login on the local server: in pg_hba.conf, use scram-sha-256 (or md5) for it, and set its password (\`ALTER ROLE ${url.user} PASSWORD '…'\`).`
          : `Switch ${url.user} to a plugin the drivers speak: \`ALTER USER '${url.user}'@'%' IDENTIFIED WITH caching_sha2_password BY '…'\` (or mysql_native_password).`;
      }
      return `Fix the user or password in ${where} (the password is case-sensitive), or create the user on the local server (${postgres ? `\`CREATE ROLE ${url.user} LOGIN PASSWORD '…'\`` : `\`CREATE USER '${url.user}'@'%' IDENTIFIED BY '…'\``}).`;
    case "HDK_CONFIG_DATABASE_NOT_FOUND":
      return postgres
        ? `Create the database on the local server (\`createdb ${url.database}\`, or \`CREATE DATABASE "${url.database}"\`), or fix the database name in ${where}.`
        : `Create the database on the local server (\`CREATE DATABASE ${url.database}\`) and grant it to ${url.user} (\`GRANT ALL ON ${url.database}.* TO '${url.user}'@'%'\`: a database the user has no rights on is refused the same way, 1044), or fix the database name in ${where}.`;
    case "HDK_CONFIG_TEST_QUERY_FAILED":
      return postgres
        ? `Give ${url.user} read and write rights on the local database (\`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${url.user}\`; a standby or \`default_transaction_read_only = on\` is read-only), or use an account that has them in ${where}.`
        : `Give ${url.user} read and write rights on the local database (\`GRANT SELECT, INSERT, UPDATE, DELETE ON ${url.database}.* TO '${url.user}'@'%'\`; a server with read_only = ON is read-only), or use an account that has them in ${where}.`;
    default:
      return undefined;
  }
}
