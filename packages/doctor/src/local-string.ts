/** Connection URLs: parsing, redaction for display, and the pooler heuristic shared by the lint and the preflight. */
import { redact } from "@hyperdrive-kit/core/adapter";

export type Engine = "postgres" | "mysql";

export interface DatabaseUrl {
  engine: Engine;
  scheme: string;
  host: string;
  /** The URL's port, or the engine's default. */
  port: number;
  /** Whether the URL named a port. */
  explicitPort: boolean;
  user: string;
  password: string;
  database: string;
  /** `sslmode` (PostgreSQL) or `ssl-mode` (MySQL) from the query string. */
  sslmode?: string;
}

const SCHEMES: Record<string, Engine> = { "postgres:": "postgres", "postgresql:": "postgres", "mysql:": "mysql" };
export const DEFAULT_PORT: Record<Engine, number> = { postgres: 5432, mysql: 3306 };

export class UrlError extends Error {
  override readonly name = "UrlError";
}

/** Parses a database URL; the error never repeats the URL (it may hold a password). */
export function parseDatabaseUrl(text: string): DatabaseUrl {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UrlError("not a URL (expected postgres://user:password@host:5432/database or mysql://…)");
  }
  // An unencoded `#` in a password starts a fragment: the rest of the password would read as the host.
  if (url.hash || text.includes("#")) {
    throw new UrlError(
      "not a database URL: a `#` ends it (a fragment); percent-encode a `#` in the user or password as %23",
    );
  }
  const engine = SCHEMES[url.protocol.toLowerCase()];
  if (!engine) {
    throw new UrlError(`unsupported scheme "${url.protocol}" (expected postgres://, postgresql:// or mysql://)`);
  }
  const decode = (value: string) => {
    try {
      return decodeURIComponent(value);
    } catch {
      return value;
    }
  };
  const sslmode = url.searchParams.get("sslmode") ?? url.searchParams.get("ssl-mode") ?? undefined;
  return {
    engine,
    scheme: url.protocol.slice(0, -1).toLowerCase(),
    // IPv6 literals keep their brackets in URL.hostname.
    host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: url.port ? Number(url.port) : DEFAULT_PORT[engine],
    explicitPort: url.port !== "",
    user: decode(url.username),
    password: decode(url.password),
    database: decode(url.pathname.replace(/^\//, "")),
    ...(sslmode ? { sslmode } : {}),
  };
}

/** For display: the URL with its password replaced. */
export function displayUrl(text: string, secrets: readonly string[] = []): string {
  return redact(text, secrets);
}

export function display(url: DatabaseUrl): string {
  const host = url.host.includes(":") ? `[${url.host}]` : url.host;
  const user = url.user ? `${encodeURIComponent(url.user)}${url.password ? ":[redacted]" : ""}@` : "";
  return `${url.scheme}://${user}${host}:${url.port}/${encodeURIComponent(url.database)}`;
}

/** This machine: a pooler here is the developer's own, not a hosted provider's. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\./.test(host);
}

/** PgBouncer's and Supabase's pooler ports, Neon's pooler host names. */
export function poolerReason(host: string, port: number): string | undefined {
  if (port === 6432) return "port 6432 is PgBouncer's usual port";
  if (port === 6543) {
    return isLoopback(host)
      ? "port 6543 is a transaction-mode pooler's usual port"
      : "port 6543 is Supabase's transaction pooler";
  }
  if (/-pooler\./i.test(host) || /\.pooler\./i.test(host)) return `"${host}" is a pooler host name`;
  return undefined;
}
