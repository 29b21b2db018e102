/** Validation of the options core itself reads. */
import { HyperdriveError } from "./errors.ts";

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** A timeout option's value, or a typed error naming the option and the bad value. */
export function timeoutOption(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value === "number" && Number.isFinite(value) && value > 0) return value;
  throw new HyperdriveError("HDK_INVALID_OPTION", {
    context: `\`${name}\` must be a positive number of milliseconds, got ${typeof value === "number" ? value : typeof value}.`,
  });
}

/**
 * The `teardown` option's value, or a typed error naming the two policies: a misspelt one must not quietly mean
 * "never close".
 */
export function teardownOption(value: unknown): "waitUntil" | "none" {
  if (value === undefined) return "waitUntil";
  if (value === "waitUntil" || value === "none") return value;
  throw new HyperdriveError("HDK_INVALID_OPTION", {
    context: `\`teardown\` must be "waitUntil" (the default) or "none", got ${typeof value === "string" ? JSON.stringify(value) : typeof value}.`,
  });
}

/** Options every `withHyperdrive` and `attach` take, whatever the adapter. */
export const COMMON_OPTION_KEYS = [
  "binding",
  "allowUnsafe",
  "connectTimeoutMs",
  "queryTimeoutMs",
  "teardown",
  "teardownTimeoutMs",
  "onEvent",
] as const;

/**
 * Refuses option keys nobody reads (a misspelt `bindng` would otherwise be ignored and the default used), naming
 * the closest known one. The known keys come in two lists (core's and an adapter's) so that a call per request
 * builds no array.
 */
export function refuseUnknownOptions(
  options: object,
  known: readonly string[],
  adapterKnown: readonly string[] = [],
): void {
  for (const key in options) {
    if (!Object.hasOwn(options, key) || known.includes(key) || adapterKnown.includes(key)) continue;
    const all = [...known, ...adapterKnown];
    throw new HyperdriveError("HDK_INVALID_OPTION", {
      context: `Unknown option \`${key}\`.${didYouMean(key, all)} Known options: ${listed(all)}.`,
    });
  }
}

/**
 * Checks `allowUnsafe` against what the adapter can allow (`allowable`, when the adapter says): a misspelt name would
 * otherwise be accepted and the refusal it meant to lift would still come, naming the same fix.
 */
export function allowUnsafeOption(value: unknown, allowable: readonly string[] | undefined): ReadonlySet<string> {
  if (!Array.isArray(value) || value.some((name) => typeof name !== "string")) {
    throw new HyperdriveError("HDK_INVALID_OPTION", {
      context: `\`allowUnsafe\` must be an array of option names, got ${Array.isArray(value) ? "an array with a non-string" : typeof value}.`,
    });
  }
  for (const name of value as string[]) {
    if (allowable === undefined || allowable.includes(name)) continue;
    throw new HyperdriveError("HDK_INVALID_OPTION", {
      context: `\`allowUnsafe\` names \`${name}\`, which this adapter never refuses.${didYouMean(name, allowable)} It can allow: ${listed(allowable)}.`,
    });
  }
  return new Set(value as string[]);
}

/** " Did you mean `x`?" for the closest candidate, when it is close enough; else "". */
function didYouMean(key: string, candidates: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(key, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(key.length / 3))
    ? ` Did you mean \`${best}\`?`
    : "";
}

function listed(names: readonly string[]): string {
  return names.map((name) => `\`${name}\``).join(", ");
}

/** Levenshtein distance, for "did you mean". */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
