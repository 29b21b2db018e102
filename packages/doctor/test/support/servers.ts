/** The servers the preflight tests connect to: PostgreSQL and MariaDB with TLS, client certificates and extra users. */
import { randomBytes } from "node:crypto";
import { chmod, chown, copyFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type RunningServer, startMariadb, startPostgres } from "@hyperdrive-kit/testing/servers";
import pg from "pg";
import type { CertFiles } from "./certs.ts";

const secret = () => `hdk-${randomBytes(9).toString("hex")}`;

export interface Users {
  server: RunningServer;
  /** The server's own test user (all privileges on the test database). */
  url: string;
  /** Other accounts, by name, as URLs on the same server and database. */
  as: Record<string, string>;
}

function withUser(base: string, user: string, password: string): string {
  const url = new URL(base);
  url.username = user;
  url.password = password;
  return url.toString();
}

/**
 * PostgreSQL with TLS on (the test CA's server certificate), `clientcert=verify-full` for `certuser`, and `reader`, a
 * user that can only read.
 */
export async function startTlsPostgres(certs: CertFiles): Promise<Users> {
  const server = await startPostgres({
    // A relative key path is read from the data directory, where beforeStart puts the key with the owner it needs.
    flags: [
      "-c",
      "ssl=on",
      "-c",
      `ssl_cert_file=${certs.serverCert}`,
      "-c",
      "ssl_key_file=server.key",
      "-c",
      `ssl_ca_file=${certs.ca}`,
    ],
    beforeStart: async (dataDir) => {
      const key = join(dataDir, "server.key");
      await copyFile(certs.serverKey, key);
      const owner = await stat(dataDir);
      await chown(key, owner.uid, owner.gid);
      await chmod(key, 0o600); // PostgreSQL refuses a key others can read
      await writeFile(
        join(dataDir, "pg_hba.conf"),
        [
          "local all all trust",
          "hostssl all certuser 127.0.0.1/32 scram-sha-256 clientcert=verify-full",
          "host all certuser 127.0.0.1/32 reject",
          "host all all 127.0.0.1/32 scram-sha-256",
          "host all all ::1/128 scram-sha-256",
          "",
        ].join("\n"),
      );
    },
  });
  try {
    const passwords = { certuser: secret(), reader: secret() };
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    try {
      await admin.query(`CREATE ROLE certuser LOGIN PASSWORD '${passwords.certuser}'`);
      await admin.query(`CREATE ROLE reader LOGIN PASSWORD '${passwords.reader}'`);
      await admin.query("CREATE TABLE items (id int primary key, name text)");
      await admin.query("GRANT SELECT ON items TO reader");
      await admin.query("GRANT ALL ON items TO certuser");
      // What a read-only role usually looks like: SELECT grants only, and read-only transactions.
      await admin.query("ALTER ROLE reader SET default_transaction_read_only = on");
    } finally {
      await admin.end();
    }
    return {
      server,
      url: server.url,
      as: Object.fromEntries(
        Object.entries(passwords).map(([user, password]) => [user, withUser(server.url, user, password)]),
      ),
    };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

/** MariaDB with TLS on, `x509user` (REQUIRE X509), `eduser` (ed25519, which Hyperdrive cannot speak) and `reader`. */
export async function startTlsMariadb(certs: CertFiles): Promise<Users> {
  const passwords = { x509user: secret(), eduser: secret(), reader: secret() };
  const server = await startMariadb({
    flags: [`--ssl-ca=${certs.ca}`, `--ssl-cert=${certs.serverCert}`, `--ssl-key=${certs.serverKey}`],
    setup: async (root) => {
      await root.query(`CREATE USER 'x509user'@'%' IDENTIFIED BY '${passwords.x509user}' REQUIRE X509`);
      await root.query("GRANT ALL PRIVILEGES ON hdk.* TO 'x509user'@'%'");
      await root.query("INSTALL SONAME 'auth_ed25519'");
      await root.query(`CREATE USER 'eduser'@'%' IDENTIFIED VIA ed25519 USING PASSWORD('${passwords.eduser}')`);
      await root.query("GRANT ALL PRIVILEGES ON hdk.* TO 'eduser'@'%'");
      await root.query(`CREATE USER 'reader'@'%' IDENTIFIED BY '${passwords.reader}'`);
      await root.query("GRANT SELECT ON hdk.* TO 'reader'@'%'");
    },
  });
  return {
    server,
    url: server.url,
    as: Object.fromEntries(
      Object.entries(passwords).map(([user, password]) => [user, withUser(server.url, user, password)]),
    ),
  };
}
