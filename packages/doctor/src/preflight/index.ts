/**
 * The connection preflight: the checks Hyperdrive runs when a configuration is created (codes 2008–2016 and the two
 * TLS failures), in its order, run from this machine against a database URL.
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import ipaddr from "ipaddr.js";
import type { Section } from "../findings.ts";
import { type DatabaseUrl, display, parseDatabaseUrl, poolerReason } from "../local-string.ts";
import { Probe, type SslMode, type Target } from "./context.ts";
import { bounded, ioFailure, tcpConnect } from "./io.ts";
import { probeMysql } from "./mysql.ts";
import { probePostgres } from "./postgres.ts";

export type { SslMode, Target } from "./context.ts";

export const DEFAULT_TIMEOUT_MS = 10_000;

export interface PreflightOptions {
  /**
   * `production` (default): as Hyperdrive connects to the origin: TLS required, private addresses reported.
   * `local`: as `wrangler dev` connects to a local connection string: no TLS unless the URL asks for it.
   */
  target?: Target;
  /** PostgreSQL `require` / `verify-ca` / `verify-full`, MySQL `REQUIRED` / `VERIFY_CA` / `VERIFY_IDENTITY`. */
  sslmode?: string;
  /** PEM texts. */
  ca?: string;
  clientCert?: string;
  clientKey?: string;
  /**
   * For a `local` target: where the URL is set (`localConnectionString of binding DB in wrangler.jsonc`,
   * `CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_DB in .env`), named in the fixes.
   */
  source?: string;
  /** Bound for each network step (default 10 s). */
  timeoutMs?: number;
  /** Called with what the doctor is waiting for, and with `undefined` when the wait is over. */
  onProgress?: (label: string | undefined) => void;
}

const SSLMODES: Record<string, SslMode> = {
  disable: "disable",
  require: "require",
  "verify-ca": "verify-ca",
  "verify-full": "verify-full",
  required: "require",
  verify_ca: "verify-ca",
  verify_identity: "verify-full",
  // libpq's weaker modes: Hyperdrive has none of them and always uses TLS.
  prefer: "require",
  allow: "require",
};

export class PreflightOptionError extends Error {
  override readonly name = "PreflightOptionError";
}

export function sslModeOf(mode: string | undefined, target: Target, hasCa: boolean): SslMode {
  if (mode === undefined) {
    if (target === "local") return "disable";
    return hasCa ? "verify-full" : "require";
  }
  const known = SSLMODES[mode.toLowerCase()];
  if (!known) {
    throw new PreflightOptionError(
      `unknown sslmode "${mode}" (PostgreSQL: require, verify-ca, verify-full; MySQL: REQUIRED, VERIFY_CA, VERIFY_IDENTITY)`,
    );
  }
  // Hyperdrive never connects to an origin without TLS.
  return known === "disable" && target === "production" ? "require" : known;
}

/** What kind of address Hyperdrive could not reach, or undefined for a public one. */
function nonPublic(address: string): string | undefined {
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === "ipv6" && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  }
  const range = parsed.range();
  const names: Record<string, string> = {
    private: "a private address",
    loopback: "a loopback address",
    linkLocal: "a link-local address",
    uniqueLocal: "a private (unique local) address",
    carrierGradeNat: "a carrier-grade NAT address",
    unspecified: "the unspecified address",
    reserved: "a reserved address",
    broadcast: "a broadcast address",
  };
  return range === "unicast" ? undefined : (names[range] ?? `a ${range} address`);
}

/** Runs the preflight against `url`; never throws for a database problem, only for bad options. */
export async function preflight(urlText: string | DatabaseUrl, options: PreflightOptions = {}): Promise<Section> {
  const url = typeof urlText === "string" ? parseDatabaseUrl(urlText) : urlText;
  const target = options.target ?? "production";
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const sslmode = sslModeOf(options.sslmode ?? url.sslmode, target, options.ca !== undefined);
  const probe = new Probe(
    {
      url,
      target,
      sslmode,
      ...(options.ca ? { ca: options.ca } : {}),
      ...(options.clientCert ? { clientCert: options.clientCert } : {}),
      ...(options.clientKey ? { clientKey: options.clientKey } : {}),
      timeoutMs,
      ...(options.source ? { source: options.source } : {}),
    },
    options.onProgress ?? (() => {}),
  );
  const section: Section = {
    kind: "connection",
    title: `${display(url)}${target === "local" ? " (local, as wrangler dev connects)" : ""}`,
    findings: probe.findings,
  };

  // 2008: the name resolves.
  probe.begin(`resolving ${url.host}`);
  let addresses: string[];
  if (isIP(url.host)) {
    addresses = [url.host];
    probe.ok("preflight.resolve", `2008: ${url.host} is an IP address`);
  } else {
    try {
      const found = await bounded(lookup(url.host, { all: true }), timeoutMs, `resolving ${url.host}`);
      addresses = found.map((entry) => entry.address);
    } catch (error) {
      const code = (error as { code?: string }).code ?? ioFailure(error).kind;
      probe.fail("preflight.resolve", "HDK_CONFIG_BAD_HOSTNAME", `2008: ${url.host} does not resolve (${code})`);
      return section;
    }
    probe.ok("preflight.resolve", `2008: ${url.host} resolves to ${addresses.join(", ")}`);
  }

  // 2009: Hyperdrive reaches public addresses only. From here a private one may work, so it is a warning.
  if (target === "production") {
    probe.begin("checking the address");
    const privateOnes = addresses.map((address) => [address, nonPublic(address)] as const).filter(([, kind]) => kind);
    if (privateOnes.length > 0) {
      probe.warn(
        "preflight.address",
        "HDK_CONFIG_PRIVATE_ADDRESS",
        `2009: ${privateOnes.map(([address, kind]) => `${address} is ${kind}`).join("; ")}: reachable from here, fails in production (use Cloudflare Tunnel for a private database)`,
      );
    } else {
      probe.ok(
        "preflight.address",
        `2009: ${addresses.join(", ")} ${addresses.length === 1 ? "is a public address" : "are public addresses"}`,
      );
    }
    const pooler = poolerReason(url.host, url.port);
    if (pooler)
      probe.warn(
        "preflight.pooler",
        "HDK_DOCTOR_POOLER",
        `${pooler}: Hyperdrive should connect to the database itself`,
      );
  }

  // 2010 / 2011: TCP, bounded, a timeout told apart from a refusal.
  // Each resolved address in turn, as clients do: `localhost` is often ::1 first while the server listens on 127.0.0.1.
  probe.begin(`connecting to ${url.host}:${url.port}`);
  let socket: Awaited<ReturnType<typeof tcpConnect>> | undefined;
  let address = addresses[0] as string;
  let failure: ReturnType<typeof ioFailure> | undefined;
  for (const candidate of addresses) {
    address = candidate;
    try {
      socket = await tcpConnect(candidate, url.port, timeoutMs);
      break;
    } catch (error) {
      failure = ioFailure(error);
    }
  }
  if (!socket) {
    const where = `${address}:${url.port}`;
    if (failure?.kind === "refused") {
      probe.fail(
        "preflight.tcp",
        "HDK_CONFIG_CONNECTION_REFUSED",
        `2011: ${where} refused the connection (ECONNREFUSED)`,
        "tcp",
      );
    } else if (failure?.kind === "timeout" || failure?.kind === "unreachable") {
      const reason = failure.kind === "timeout" ? `no answer within ${timeoutMs} ms` : failure.code;
      probe.fail("preflight.tcp", "HDK_CONFIG_UNREACHABLE", `2010: cannot connect to ${where} (${reason})`, "tcp");
    } else {
      probe.fail(
        "preflight.tcp",
        "HDK_CONFIG_GENERIC",
        `2015: connecting to ${where} failed: ${failure?.message}`,
        "tcp",
      );
    }
    return section;
  }
  probe.ok("preflight.tcp", `2010/2011: TCP connection to ${address}:${url.port} established`);

  if (url.engine === "postgres") await probePostgres(probe, socket, address);
  else await probeMysql(probe, socket, address);
  return section;
}
