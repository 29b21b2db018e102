/** A throwaway certificate authority for the TLS tests, made with the `openssl` command. */
import { execFile } from "node:child_process";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface CertFiles {
  dir: string;
  /** The CA that signed the server and client certificates. */
  ca: string;
  /** Another CA, which signed nothing the servers use: verifying against it must fail. */
  otherCa: string;
  serverCert: string;
  serverKey: string;
  /** Client certificates by common name (PostgreSQL's verify-full matches it with the user name). */
  client: (name: string) => { cert: string; key: string };
  read: (file: string) => Promise<string>;
  remove: () => Promise<void>;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run("openssl", args, { cwd, timeout: 30_000 });
  } catch (cause) {
    throw new Error(
      `The TLS tests make their certificates with the \`openssl\` command, which failed or is missing (Debian: apt-get install openssl): ${(cause as Error).message}`,
      { cause },
    );
  }
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

async function authority(dir: string, name: string): Promise<void> {
  await openssl(
    ["req", "-x509", ...EC, "-keyout", `${name}.key`, "-out", `${name}.crt`, "-days", "2", "-subj", `/CN=${name}`],
    dir,
  );
}

async function signed(dir: string, name: string, cn: string, ext?: string): Promise<void> {
  await openssl(["req", ...EC, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${cn}`], dir);
  const extArgs: string[] = [];
  if (ext) {
    await writeFile(join(dir, `${name}.ext`), ext);
    extArgs.push("-extfile", `${name}.ext`);
  }
  await openssl(
    [
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      `${name}.crt`,
      "-days",
      "2",
      ...extArgs,
    ],
    dir,
  );
}

export async function makeCerts(clientNames: readonly string[]): Promise<CertFiles> {
  const dir = await mkdtemp(join(tmpdir(), "hdk-doctor-certs-"));
  // The database servers run as their own users (postgres, mysql) when the tests run as root.
  await chmod(dir, 0o755);
  await authority(dir, "ca");
  await authority(dir, "other-ca");
  await signed(dir, "server", "localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  for (const name of clientNames) await signed(dir, `client-${name}`, name);
  for (const file of ["server.key", "ca.crt", "server.crt"]) await chmod(join(dir, file), 0o644);
  const path = (file: string) => join(dir, file);
  return {
    dir,
    ca: path("ca.crt"),
    otherCa: path("other-ca.crt"),
    serverCert: path("server.crt"),
    serverKey: path("server.key"),
    client: (name) => ({ cert: path(`client-${name}.crt`), key: path(`client-${name}.key`) }),
    read: (file) => readFile(file, "utf8"),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
