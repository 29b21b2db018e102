import type { Finding, Section } from "../../src/findings.ts";
import type { DoctorReport } from "../../src/report.ts";

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
