/**
 * The origin check: the fields of `wrangler hyperdrive create`, checked the way wrangler and seed 003 do before any
 * connection is made.
 */
import { type Finding, pass, problem, type Section } from "./findings.ts";
import { type DatabaseUrl, display, type Engine, parseDatabaseUrl, poolerReason, UrlError } from "./local-string.ts";

export interface OriginFields {
  connectionString?: string;
  /** The option the connection string was given with, named in the findings (default `--connection-string`). */
  connectionStringFlag?: "--url" | "--connection-string";
  host?: string;
  port?: string | number;
  scheme?: string;
  database?: string;
  user?: string;
  password?: string;
  accessClientId?: string;
  accessClientSecret?: string;
  caCertificateId?: string;
  mtlsCertificateId?: string;
  sslmode?: string;
  /** A CA given as a file to the doctor (`--ca`): counts as a CA for the TLS rules. */
  caFile?: boolean;
  /** A client certificate given as a file to the doctor (`--client-cert`). */
  clientCertFile?: boolean;
}

export interface OriginCheck {
  section: Section;
  /** The origin as a URL when its fields are complete and it is reached directly (not through Access). */
  url?: DatabaseUrl;
}

const SSLMODES: Record<Engine, readonly string[]> = {
  postgres: ["require", "verify-ca", "verify-full"],
  mysql: ["REQUIRED", "VERIFY_CA", "VERIFY_IDENTITY"],
};
const VERIFYING = new Set(["verify-ca", "verify-full", "VERIFY_CA", "VERIFY_IDENTITY"]);

export function hasOriginFields(fields: OriginFields): boolean {
  return (
    [fields.connectionString, fields.host, fields.port, fields.database, fields.user, fields.password].some(
      (value) => value !== undefined,
    ) || [fields.accessClientId, fields.accessClientSecret].some((value) => value !== undefined)
  );
}

export function checkOrigin(fields: OriginFields): OriginCheck {
  const findings: Finding[] = [];
  const fieldsProblem = (title: string) =>
    findings.push(problem("fail", "origin.fields", "HDK_DOCTOR_ORIGIN_FIELDS", title));
  const accessProblem = (title: string) =>
    findings.push(problem("fail", "origin.access", "HDK_DOCTOR_ORIGIN_ACCESS", title));
  const tlsProblem = (title: string) => findings.push(problem("fail", "origin.tls", "HDK_DOCTOR_ORIGIN_TLS", title));

  const access = fields.accessClientId !== undefined || fields.accessClientSecret !== undefined;
  const individual = [fields.host, fields.port, fields.database, fields.user, fields.password].filter(
    (value) => value !== undefined,
  );
  let url: DatabaseUrl | undefined;
  // The connection string as parsed, complete or not: a pooler or the engine does not depend on the missing fields.
  let parsed: DatabaseUrl | undefined;

  if (fields.connectionString !== undefined) {
    const flag = fields.connectionStringFlag ?? "--connection-string";
    if (individual.length > 0) {
      const given = (
        [
          ["--origin-host", fields.host],
          ["--origin-port", fields.port],
          ["--database", fields.database],
          ["--origin-user", fields.user],
          ["--origin-password", fields.password],
        ] as const
      )
        .filter(([, value]) => value !== undefined)
        .map(([name]) => name);
      fieldsProblem(`${flag} conflicts with ${given.join(", ")}: give one or the other`);
    }
    if (access)
      accessProblem(
        `--access-client-id and --access-client-secret cannot be combined with ${flag}: give the tunnel's host with --origin-host`,
      );
    try {
      parsed = parseDatabaseUrl(fields.connectionString);
      const missing = [
        ...(parsed.host ? [] : ["host"]),
        ...(parsed.database ? [] : ["database name (the path)"]),
        ...(parsed.user ? [] : ["user"]),
        ...(parsed.password ? [] : ["password"]),
      ];
      if (missing.length > 0) fieldsProblem(`${flag} has no ${missing.join(", no ")}`);
      else url = parsed;
    } catch (error) {
      fieldsProblem(`${flag} is ${error instanceof UrlError ? error.message : "not a URL"}`);
    }
  } else {
    const scheme = (fields.scheme ?? "postgresql").toLowerCase();
    if (!["postgres", "postgresql", "mysql"].includes(scheme)) {
      fieldsProblem(`--origin-scheme "${fields.scheme}" is not postgres, postgresql or mysql`);
    }
    const missing = [
      ...(fields.host ? [] : ["--origin-host"]),
      ...(fields.database ? [] : ["--database"]),
      ...(fields.user ? [] : ["--origin-user"]),
      ...(fields.password ? [] : ["--origin-password"]),
    ];
    if (missing.length > 0) fieldsProblem(`missing ${missing.join(", ")}`);
    let port: number | undefined;
    if (fields.port !== undefined) {
      port = Number(fields.port);
      if (!Number.isInteger(port) || port < 1 || port > 65_535) {
        fieldsProblem(`--origin-port "${fields.port}" is not a port number (1–65535)`);
        port = undefined;
      }
    }
    if (access) {
      if (!fields.accessClientId || !fields.accessClientSecret) {
        accessProblem(
          `${fields.accessClientId ? "--access-client-secret" : "--access-client-id"} is missing: an origin behind Cloudflare Access needs both`,
        );
      }
      if (fields.port !== undefined) {
        accessProblem(
          "--origin-port is given for an origin behind Cloudflare Access: omit it, the tunnel's service configuration picks the port",
        );
      }
    } else if (fields.port === undefined && fields.host) {
      fieldsProblem("--origin-port is missing (only an origin behind Cloudflare Access omits it)");
    }
    if (missing.length === 0 && port !== undefined && !access && findings.length === 0) {
      const engine: Engine = scheme === "mysql" ? "mysql" : "postgres";
      url = {
        engine,
        scheme,
        host: fields.host as string,
        port,
        explicitPort: true,
        user: fields.user as string,
        password: fields.password as string,
        database: fields.database as string,
      };
    }
  }

  // TLS: Hyperdrive always encrypts; a CA only matters when the certificate is verified.
  const engine: Engine =
    (url ?? parsed)?.engine ?? ((fields.scheme ?? "").toLowerCase() === "mysql" ? "mysql" : "postgres");
  // A CA file only tells the doctor how to verify; the CA id is what the configuration will carry.
  const hasCa = fields.caCertificateId !== undefined || fields.caFile === true;
  const sslmode = fields.sslmode ?? (url ?? parsed)?.sslmode;
  if (sslmode !== undefined) {
    const normalized = engine === "mysql" ? sslmode.toUpperCase() : sslmode.toLowerCase();
    if (!SSLMODES[engine].includes(normalized)) {
      tlsProblem(
        `sslmode "${sslmode}" is not one of ${SSLMODES[engine].join(", ")} (${engine === "mysql" ? "MySQL" : "PostgreSQL"})`,
      );
    } else if (VERIFYING.has(normalized) && !hasCa) {
      tlsProblem(`sslmode ${normalized} verifies the server certificate and needs a CA (--ca-certificate-id)`);
    } else if (!VERIFYING.has(normalized) && fields.caCertificateId !== undefined) {
      tlsProblem(
        `a CA is not allowed with sslmode ${normalized}, which does not verify the certificate: use ${engine === "mysql" ? "VERIFY_IDENTITY" : "verify-full"}`,
      );
    }
  } else if (fields.caCertificateId !== undefined) {
    tlsProblem(
      `a CA is given without an sslmode, which defaults to ${engine === "mysql" ? "REQUIRED" : "require"}: add --sslmode=${engine === "mysql" ? "VERIFY_IDENTITY" : "verify-full"}`,
    );
  }

  const host = (url ?? parsed)?.host ?? fields.host;
  const pooler = host ? poolerReason(host, (url ?? parsed)?.port ?? Number(fields.port ?? 0)) : undefined;
  if (pooler)
    findings.push(
      problem(
        "warn",
        "origin.pooler",
        "HDK_DOCTOR_POOLER",
        `${pooler}: Hyperdrive should connect to the database itself`,
      ),
    );

  const failed = findings.some((finding) => finding.status === "fail");
  if (!failed) {
    if (access) {
      findings.push(
        pass(
          "origin.access",
          `origin behind Cloudflare Access at ${fields.host}: Access client id and secret given, no port (the connection checks run from inside your network, not through Access)`,
        ),
      );
    } else if (url) {
      findings.push(
        pass("origin.fields", `wrangler accepts these fields: ${display(url)}${sslmode ? `, sslmode=${sslmode}` : ""}`),
      );
    }
  }
  const title = url ? display(url) : access ? `${fields.host ?? "(no host)"} through Cloudflare Access` : "origin";
  return { section: { kind: "origin", title, findings }, ...(url && !access ? { url } : {}) };
}
