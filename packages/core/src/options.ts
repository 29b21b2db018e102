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
    const closest = all
      .map((candidate) => ({ candidate, distance: editDistance(key, candidate) }))
      .sort((a, b) => a.distance - b.distance)[0];
    const hint =
      closest && closest.distance <= Math.max(2, Math.floor(key.length / 3))
        ? ` Did you mean \`${closest.candidate}\`?`
        : "";
    throw new HyperdriveError("HDK_INVALID_OPTION", {
      context: `Unknown option \`${key}\`.${hint} Known options: ${all.map((k) => `\`${k}\``).join(", ")}.`,
    });
  }
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
