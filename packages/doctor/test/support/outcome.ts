import { runDoctor } from "../../src/doctor.ts";
import type { Finding, Section } from "../../src/findings.ts";
import type { DoctorReport } from "../../src/report.ts";

/** The origin check and preflight of one URL, bounded generously: a busy machine is slow, not broken. */
export const check = (connectionString: string, options: Parameters<typeof runDoctor>[0] = {}) =>
  runDoctor({ origin: { connectionString }, timeoutMs: 15_000, ...options });

/** A finding as the tests compare it: status, check and code, in order. */
export const outcome = (finding: Finding) =>
  `${finding.status} ${finding.check}${finding.code ? ` ${finding.code}` : ""}`;

export const outcomes = (section: Section | undefined) => (section?.findings ?? []).map(outcome);

export const connection = (report: DoctorReport) => report.sections.find((section) => section.kind === "connection");

/** The finding of one check in a report's connection section. */
export function finding(report: DoctorReport, check: string): Finding {
  const found = connection(report)?.findings.find((f) => f.check === check);
  if (!found) throw new Error(`no ${check} finding in ${JSON.stringify(outcomes(connection(report)))}`);
  return found;
}

/** The checks up to and including TCP: the same for every reachable loopback server. */
export const REACHED_LOOPBACK = [
  "pass preflight.resolve",
  "warn preflight.address HDK_CONFIG_PRIVATE_ADDRESS",
  "pass preflight.tcp",
];

/** The checks that need a login, in order: the same for both engines. */
export const LOGGED_IN = [
  "pass preflight.credentials",
  "pass preflight.database",
  "pass preflight.test-query",
  "pass preflight.permissions",
];

/** Up to the authentication method over TLS, both engines. */
export const THROUGH_TLS = [
  ...REACHED_LOOPBACK,
  "pass preflight.tls",
  "pass preflight.tls-handshake",
  "pass preflight.auth-method",
];

export const ALL_CLEAR = [...THROUGH_TLS, ...LOGGED_IN];

/** A server without TLS: 2012 fails, the rest is checked in plain text. */
export const WITHOUT_TLS = [
  ...REACHED_LOOPBACK,
  "fail preflight.tls HDK_CONFIG_TLS_UNSUPPORTED",
  "pass preflight.auth-method",
  ...LOGGED_IN,
];
