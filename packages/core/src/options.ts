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
