import { type CatalogEntry, catalog, type HyperdriveErrorCode } from "@hyperdrive-kit/core";
import { type DoctorCode, rules } from "./rules.ts";

export type Status = "pass" | "warn" | "fail";

/** A code from core's catalogue (the seed's rows) or one of the doctor's own rules. */
export type FindingCode = HyperdriveErrorCode | DoctorCode;

export interface Location {
  /** Relative to the project directory. */
  file: string;
  line?: number;
  column?: number;
}

export interface Finding {
  status: Status;
  /** A stable id of the check that produced it, e.g. `binding.local-string` or `preflight.tls`. */
  check: string;
  /** What was found, naming the file, binding or value (never a password). */
  title: string;
  /** Set on warnings and failures: the catalogue entry whose details and fix apply. */
  code?: FindingCode;
  /** Hyperdrive's own error code (2008–2016) when the entry is one of its configuration errors. */
  hyperdriveCode?: number;
  details?: string;
  fix?: string;
  docs?: string;
  location?: Location;
  /** How long a network check took. */
  durationMs?: number;
}

export interface Section {
  /** `project`, `connection` or `origin`. */
  kind: "project" | "connection" | "origin";
  /** What was checked: a config file and environment, or a redacted URL. */
  title: string;
  findings: Finding[];
}

function entryOf(code: FindingCode): CatalogEntry {
  return code in catalog ? catalog[code as HyperdriveErrorCode] : rules[code as DoctorCode];
}

/**
 * A warning or failure carrying the catalogue entry's code, details, fix and docs; `extra` may replace the details, the
 * fix and the docs where the entry's do not fit (a local database is not Hyperdrive's origin).
 */
export function problem(
  status: "warn" | "fail",
  check: string,
  code: FindingCode,
  title: string,
  extra: Pick<Finding, "location" | "durationMs" | "details" | "fix" | "docs"> = {},
): Finding {
  const entry = entryOf(code);
  // The configuration entries' message is Hyperdrive's numeric code ("2008").
  const numeric = /^\d{4}$/.test(entry.message) ? Number(entry.message) : undefined;
  return {
    status,
    check,
    title,
    code,
    ...(numeric === undefined ? {} : { hyperdriveCode: numeric }),
    details: entry.details,
    fix: entry.fix,
    docs: entry.docs,
    ...extra,
  };
}

export function pass(check: string, title: string, extra: Pick<Finding, "location" | "durationMs"> = {}): Finding {
  return { status: "pass", check, title, ...extra };
}

export interface Summary {
  pass: number;
  warn: number;
  fail: number;
}

export function summarize(sections: readonly Section[]): Summary {
  const summary: Summary = { pass: 0, warn: 0, fail: 0 };
  for (const section of sections) for (const finding of section.findings) summary[finding.status]++;
  return summary;
}
