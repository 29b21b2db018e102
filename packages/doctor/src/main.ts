/** `hyperdrive-kit doctor`: exit 0 when nothing failed, 1 when a check failed, 2 for a usage error. */
import { existsSync, readFileSync } from "node:fs";
import { basename, dirname } from "node:path";
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { findConfig } from "./config.ts";
import { runDoctor } from "./doctor.ts";
import { ProjectNotFoundError } from "./lint.ts";
import { UrlError } from "./local-string.ts";
import type { OriginFields } from "./origin.ts";
import { DEFAULT_TIMEOUT_MS, PreflightOptionError } from "./preflight/index.ts";
import { progressLine, renderJson, renderText } from "./report.ts";

const EXIT_USAGE = 2;

class UsageError extends Error {}

interface DoctorFlags {
  json?: boolean;
  connect?: boolean;
  url?: string;
  connectionString?: string;
  config?: string;
  // Commander names each of these after its second flag (`--origin-host, --host` is stored as `host`).
  host?: string;
  port?: string;
  scheme?: string;
  database?: string;
  user?: string;
  password?: string;
  accessClientId?: string;
  accessClientSecret?: string;
  caCertificateId?: string;
  mtlsCertificateId?: string;
  sslmode?: string;
  ca?: string;
  clientCert?: string;
  clientKey?: string;
  timeout: number;
}

function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string })
      .version;
  } catch {
    return "unknown";
  }
}

function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0)
    throw new InvalidArgumentError("expected a positive number of milliseconds");
  return parsed;
}

function pem(path: string | undefined, flag: string): string | undefined {
  if (path === undefined) return undefined;
  if (!existsSync(path)) throw new UsageError(`${flag} ${path}: no such file`);
  return readFileSync(path, "utf8");
}

async function doctor(dirArgument: string | undefined, flags: DoctorFlags): Promise<number> {
  if (flags.url !== undefined && flags.connectionString !== undefined) {
    throw new UsageError("give --url or --connection-string, not both");
  }
  if ((flags.clientCert === undefined) !== (flags.clientKey === undefined)) {
    throw new UsageError("--client-cert and --client-key go together");
  }
  if (dirArgument !== undefined && flags.config !== undefined) {
    throw new UsageError("give a directory or --config, not both");
  }
  if (flags.config !== undefined && !existsSync(flags.config)) {
    throw new UsageError(`--config ${flags.config}: no such file`);
  }
  const connectionString = flags.url ?? flags.connectionString;
  const origin: OriginFields = {
    ...(connectionString !== undefined
      ? { connectionString, connectionStringFlag: flags.url !== undefined ? "--url" : "--connection-string" }
      : {}),
    ...(flags.host !== undefined ? { host: flags.host } : {}),
    ...(flags.port !== undefined ? { port: flags.port } : {}),
    ...(flags.scheme !== undefined ? { scheme: flags.scheme } : {}),
    ...(flags.database !== undefined ? { database: flags.database } : {}),
    ...(flags.user !== undefined ? { user: flags.user } : {}),
    ...(flags.password !== undefined ? { password: flags.password } : {}),
    ...(flags.accessClientId !== undefined ? { accessClientId: flags.accessClientId } : {}),
    ...(flags.accessClientSecret !== undefined ? { accessClientSecret: flags.accessClientSecret } : {}),
    ...(flags.caCertificateId !== undefined ? { caCertificateId: flags.caCertificateId } : {}),
    ...(flags.mtlsCertificateId !== undefined ? { mtlsCertificateId: flags.mtlsCertificateId } : {}),
    ...(flags.sslmode !== undefined ? { sslmode: flags.sslmode } : {}),
    ...(flags.ca !== undefined ? { caFile: true } : {}),
    ...(flags.clientCert !== undefined ? { clientCertFile: true } : {}),
  };
  const hasOrigin = Object.keys(origin).some(
    (key) =>
      !["sslmode", "caFile", "clientCertFile", "caCertificateId", "mtlsCertificateId", "connectionStringFlag"].includes(
        key,
      ),
  );
  // Without a directory: the current one if it is a Worker project, unless only an origin was asked about.
  const dir =
    flags.config !== undefined
      ? dirname(flags.config)
      : (dirArgument ?? (findConfig(process.cwd()) || !hasOrigin ? "." : undefined));
  if (dir === undefined && !hasOrigin) throw new UsageError("nothing to check");
  if (flags.connect && dir === undefined) throw new UsageError("--connect needs a Worker project directory");

  const ca = pem(flags.ca, "--ca");
  const clientCert = pem(flags.clientCert, "--client-cert");
  const clientKey = pem(flags.clientKey, "--client-key");
  const report = await runDoctor({
    ...(dir !== undefined ? { dir } : {}),
    ...(flags.config !== undefined ? { config: basename(flags.config) } : {}),
    ...(flags.connect ? { connect: true } : {}),
    ...(hasOrigin ? { origin } : {}),
    ...(flags.sslmode !== undefined ? { sslmode: flags.sslmode } : {}),
    ...(ca !== undefined ? { ca } : {}),
    ...(clientCert !== undefined ? { clientCert } : {}),
    ...(clientKey !== undefined ? { clientKey } : {}),
    timeoutMs: flags.timeout,
    // On stderr and only on a terminal: stdout stays clean for --json and for pipes.
    onProgress: progressLine(process.stderr),
  });
  process.stdout.write(flags.json ? renderJson(report) : renderText(report));
  return report.exitCode;
}

export function program(): Command {
  const root = new Command("hyperdrive-kit")
    .description("Checks for Cloudflare Hyperdrive projects")
    .version(version())
    .exitOverride()
    .showHelpAfterError();
  root
    // The default: `npx @hyperdrive-kit/doctor [dir]` runs the package's only binary without a command name.
    .command("doctor", { isDefault: true })
    .description(
      "Lint a Worker project for Hyperdrive mistakes and run Hyperdrive's connection checks (2008–2016) against a database",
    )
    .argument("[dir]", "Worker project directory (default: the current one, when it has a Wrangler configuration)")
    .option("--json", "print the report as JSON (usage errors too)")
    .option("-c, --config <file>", "the Wrangler configuration file to check, as wrangler's --config")
    .option("--connect", "also connect to each binding's local connection string, as wrangler dev does")
    .option(
      "--url <url>",
      "the origin database URL to check, as Hyperdrive would connect (same as --connection-string)",
    )
    .option("--connection-string <url>", "like `wrangler hyperdrive create --connection-string`")
    .option("--origin-host, --host <host>", "origin host (wrangler's --origin-host)")
    .option("--origin-port, --port <port>", "origin port (omit it for an origin behind Cloudflare Access)")
    .option("--origin-scheme, --scheme <scheme>", "postgres, postgresql or mysql")
    .option("--database <name>", "origin database")
    .option("--origin-user, --user <user>", "origin user")
    .option("--origin-password, --password <password>", "origin password")
    .option("--access-client-id <id>", "Cloudflare Access client id (Tunnel origins)")
    .option("--access-client-secret <secret>", "Cloudflare Access client secret (Tunnel origins)")
    .option("--ca-certificate-id <id>", "the CA certificate id you will give wrangler (for the TLS rules)")
    .option("--mtls-certificate-id <id>", "the client certificate id you will give wrangler")
    .option(
      "--sslmode <mode>",
      "require, verify-ca, verify-full (PostgreSQL); REQUIRED, VERIFY_CA, VERIFY_IDENTITY (MySQL)",
    )
    .option("--ca <file>", "CA certificate (PEM) to verify the server certificate with")
    .option("--client-cert <file>", "client certificate (PEM), for databases that require one")
    .option("--client-key <file>", "client certificate key (PEM)")
    .option("--timeout <ms>", "bound for each network step", positiveInteger, DEFAULT_TIMEOUT_MS)
    .action(async (dir: string | undefined, flags: DoctorFlags) => {
      process.exitCode = await doctor(dir, flags);
    });
  return root;
}

/** A usage error for `--json`: a report with no sections, so CI reads one shape whatever went wrong. */
function jsonUsageError(message: string): string {
  return `${JSON.stringify({ version: 1, error: { code: "usage", message }, exitCode: EXIT_USAGE }, null, 2)}\n`;
}

export async function main(argv: readonly string[]): Promise<number> {
  const root = program();
  // Decided before parsing: an unknown option stops commander before it has read --json.
  const json = argv.includes("--json");
  root.configureOutput({
    // With --json, commander's own error text (and the help after it) gives way to the JSON error.
    writeErr: (text) => (json ? undefined : process.stderr.write(text)),
    writeOut: (text) => process.stdout.write(text),
  });
  process.exitCode = 0;
  try {
    await root.parseAsync([...argv], { from: "user" });
    return Number(process.exitCode ?? 0);
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return 0;
      if (json) process.stdout.write(jsonUsageError(error.message.replace(/^error: /, "")));
      return EXIT_USAGE;
    }
    if (
      error instanceof UsageError ||
      error instanceof ProjectNotFoundError ||
      error instanceof UrlError ||
      error instanceof PreflightOptionError
    ) {
      if (json) process.stdout.write(jsonUsageError(error.message));
      else process.stderr.write(`hyperdrive-kit doctor: ${error.message}\n`);
      return EXIT_USAGE;
    }
    throw error;
  }
}
