import {
  type CatalogEntry,
  catalog,
  type DriverName,
  type ErrorCategory,
  fixFor,
  type HyperdriveErrorCode,
} from "./catalog.ts";
import { REDACTED, redact } from "./redact.ts";

export interface HyperdriveErrorOptions {
  /** What this occurrence adds to the catalogue's text (already free of secrets, or given in `secrets`). */
  context?: string;
  driver?: DriverName;
  cause?: unknown;
  /** Secrets to strip from the message and from the cause chain. */
  secrets?: readonly string[];
  /** This occurrence's fix, where the catalogue's general one does not fit the situation (default: the entry's). */
  fix?: string;
  /** The SQLSTATE the server sent, when the error came from one (PostgreSQL's 57P01, Hyperdrive's 58000). */
  sqlState?: string;
}

/**
 * The one error type of hyperdrive-kit. `code` is stable; `details`, `fix` and `docs` come from the catalogue.
 * The message and everything reachable from it (cause chain, `toJSON()`) are free of passwords and connection
 * strings.
 */
export class HyperdriveError extends Error {
  override readonly name: string = "HyperdriveError";
  readonly code: HyperdriveErrorCode;
  readonly category: ErrorCategory;
  readonly details: string;
  readonly fix: string;
  readonly docs: string;
  readonly retryable: boolean;
  readonly driver: DriverName | undefined;
  /** The SQLSTATE the server sent, when the error came from one (PostgreSQL's 57P01, Hyperdrive's 58000). */
  readonly sqlState: string | undefined;

  constructor(code: HyperdriveErrorCode, options: HyperdriveErrorOptions = {}) {
    const entry: CatalogEntry = catalog[code];
    const secrets = options.secrets ?? [];
    const context = options.context ? ` ${redact(options.context, secrets)}` : "";
    const prefix = options.driver ? `[hyperdrive-kit] [${options.driver}]` : "[hyperdrive-kit]";
    const fix = options.fix ?? fixFor(entry, options.driver);
    super(`${prefix} ${code}: ${entry.details}${context} Fix: ${fix}`, {
      cause: sanitizeCause(options.cause, secrets),
    });
    this.code = code;
    this.category = entry.category;
    this.details = entry.details;
    this.fix = fix;
    this.docs = entry.docs;
    this.retryable = entry.retryable;
    this.driver = options.driver;
    this.sqlState = options.sqlState;
  }

  toJSON(): Record<string, unknown> {
    const cause = this.cause instanceof Error ? { name: this.cause.name, message: this.cause.message } : undefined;
    return {
      name: this.name,
      code: this.code,
      category: this.category,
      message: this.message,
      details: this.details,
      fix: this.fix,
      docs: this.docs,
      retryable: this.retryable,
      driver: this.driver,
      sqlState: this.sqlState,
      cause,
    };
  }

  /**
   * The code and the fix as a plain object, where ORMs that wrap errors look: Prisma copies a driver adapter error's
   * `code`, `message` and `meta` into its `PrismaClientKnownRequestError`, so `error.meta.fix` is there too.
   */
  get meta(): HyperdriveErrorMeta {
    const { code, category, retryable, fix, docs } = this;
    return { code, category, retryable, fix, docs };
  }
}

/** `HyperdriveError.meta`: what survives an ORM that keeps only an error's `code`, `message` and `meta`. */
export interface HyperdriveErrorMeta {
  code: HyperdriveErrorCode;
  category: ErrorCategory;
  retryable: boolean;
  fix: string;
  docs: string;
}

/**
 * A HyperdriveError named `NonRetryableError`, the name the Workflows engine reads to fail a step without retrying
 * it (workerd's own `NonRetryableError` from `cloudflare:workflows` is an `Error` with that name; importing it would
 * tie core to workerd). Only for errors that no retry can cure inside a Workflow step.
 */
export class NonRetryableHyperdriveError extends HyperdriveError {
  override readonly name: string = "NonRetryableError";
}

/**
 * True for errors made by hyperdrive-kit, also across bundles (checks the shape, not `instanceof`) and across an RPC
 * call or a Workflow step whose runtime keeps an error's own properties (workerd's `enhanced_error_serialization`).
 * An error that kept only its message classifies all the same: see `classify()`.
 */
export function isHyperdriveError(error: unknown): error is HyperdriveError {
  if (error instanceof HyperdriveError) return true;
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return (
    (error.name === "HyperdriveError" && typeof code === "string") ||
    (error.name === "NonRetryableError" && typeof code === "string" && code.startsWith("HDK_"))
  );
}

const MAX_CAUSE_DEPTH = 8;

/**
 * Returns the cause itself when nothing in its chain leaks a secret, else a copy with the secrets replaced.
 * Copies keep name, message, code, errno, sqlState and stack so that classification still works.
 */
function sanitizeCause(cause: unknown, secrets: readonly string[], depth = 0): unknown {
  if (!(cause instanceof Error) || depth > MAX_CAUSE_DEPTH) return cause;
  if (!chainLeaks(cause, secrets, depth)) return cause;
  const copy = new Error(redact(cause.message, secrets), {
    cause: sanitizeCause(cause.cause, secrets, depth + 1),
  });
  copy.name = cause.name;
  copy.stack = cause.stack ? redact(cause.stack, secrets) : undefined;
  const source = cause as unknown as Record<string, unknown>;
  const target = copy as unknown as Record<string, unknown>;
  for (const key of Object.keys(source)) {
    const value = source[key];
    if (typeof value === "string") target[key] = redact(value, secrets);
    else if (typeof value === "number" || typeof value === "boolean") target[key] = value;
    else target[key] = REDACTED; // objects may hold configs with passwords (mysql2 `config`, pg `client`)
  }
  return copy;
}

function chainLeaks(error: Error, secrets: readonly string[], depth: number): boolean {
  const texts = [error.message, error.stack ?? ""];
  for (const value of Object.values(error)) {
    if (typeof value === "string") texts.push(value);
    else if (value !== null && typeof value === "object" && !(value instanceof Error)) {
      try {
        texts.push(JSON.stringify(value) ?? "");
      } catch {
        return true; // unserializable objects (sockets, clients) are dropped to be safe
      }
    }
  }
  if (texts.some((text) => redact(text, secrets) !== text)) return true;
  return error.cause instanceof Error && depth < MAX_CAUSE_DEPTH ? chainLeaks(error.cause, secrets, depth + 1) : false;
}
