import { type CatalogEntry, catalog, type DriverName, type HyperdriveErrorCode } from "./catalog.ts";
import { HyperdriveError, isHyperdriveError } from "./errors.ts";

export type Classification =
  /** A catalogue entry: lifecycle, connection, configuration, platform, Hyperdrive or usage errors. */
  | { readonly type: "catalog"; readonly code: HyperdriveErrorCode; readonly entry: CatalogEntry }
  /** The database reported an error about a query (SQLSTATE / errno): it passes through unchanged. */
  | { readonly type: "database"; readonly sqlState: string | undefined; readonly errno: number | undefined }
  | { readonly type: "unknown" };

interface Fields {
  message: string;
  code: string | undefined;
  numericCode: number | undefined;
  errno: number | undefined;
  sqlState: string | undefined;
  name: string;
  /** The error ended the connection: mysqljs marks handshake errors `fatal`; for mysql2, core notes them. */
  fatal: boolean;
  /** An adapter reported the error as failing a connection attempt (see `markConnectFailure`). */
  connectFailure: boolean;
  /** The `code` of the error's `cause`, when it has one (Postgres.js 4 wraps why it destroyed a connection). */
  causeCode: string | undefined;
}

/** Errors an adapter reported as failing a connection attempt: handshake errors, whether the driver marked them fatal or not. */
const connectFailures = new WeakSet<object>();

/** Notes that `error` failed a connection attempt (mysql2 does not mark a server's refusal at the handshake fatal). */
export function markConnectFailure(error: unknown): void {
  if (typeof error === "object" && error !== null) connectFailures.add(error);
}

function fieldsOf(error: unknown): Fields {
  const e = (typeof error === "object" && error !== null ? error : {}) as Record<string, unknown>;
  if (typeof e.kind === "string" && !(error instanceof Error)) return prismaPayloadFields(e);
  const message = typeof e.message === "string" ? e.message : typeof error === "string" ? error : "";
  const connectFailure = typeof error === "object" && error !== null && connectFailures.has(error);
  return {
    message,
    code: typeof e.code === "string" ? e.code : undefined,
    numericCode: typeof e.code === "number" ? e.code : undefined,
    errno: typeof e.errno === "number" ? e.errno : undefined,
    sqlState: typeof e.sqlState === "string" ? e.sqlState : typeof e.sqlstate === "string" ? e.sqlstate : undefined,
    name: typeof e.name === "string" ? e.name : "",
    fatal: e.fatal === true || connectFailure,
    connectFailure,
    causeCode: text((e.cause as { code?: unknown } | undefined)?.code),
  };
}

/** A string field, or `undefined`. */
function text(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/**
 * The payload of Prisma's `DriverAdapterError` (its `cause`): what the driver said, without the driver's error.
 * `originalCode` is a SQLSTATE or a MySQL errno as a string; kinds Prisma has no name for keep the driver's fields
 * (`kind: "postgres"` with `code`, `kind: "mysql"` with the errno as `code` and `state`).
 */
function prismaPayloadFields(e: Record<string, unknown>): Fields {
  const original = text(e.originalCode);
  // A SQLSTATE has five characters (some all digits, 23505); a server's errno has four, the `mariadb` driver's own
  // are 45001–45999 (no SQLSTATE class 45 exists besides MySQL's user-defined 45000, which Prisma never reports).
  const errnoText = original !== undefined && /^(\d{1,4}|45\d{3})$/.test(original) ? original : undefined;
  return {
    message: text(e.originalMessage) ?? text(e.message) ?? "",
    code: errnoText === undefined ? (original ?? (e.kind === "postgres" ? text(e.code) : undefined)) : undefined,
    numericCode: undefined,
    errno:
      e.kind === "mysql" && typeof e.code === "number"
        ? e.code
        : errnoText === undefined
          ? undefined
          : Number(errnoText),
    sqlState: e.kind === "mysql" ? text(e.state) : undefined,
    name: "",
    // Prisma keeps no trace of whether the driver's error failed a connection attempt.
    fatal: false,
    connectFailure: false,
    causeCode: undefined,
  };
}

/**
 * Prisma's client errors (`PrismaClientKnownRequestError`…): their `code` is a Prisma code (P2002), never a
 * SQLSTATE; what the driver said is in `meta.driverAdapterError`. An error the adapter threw that Prisma does not
 * know (a HyperdriveError) is copied as code and message only, the error itself dropped.
 */
const isPrismaClientError = (e: Record<string, unknown>) =>
  typeof e.clientVersion === "string" && typeof e.name === "string" && e.name.startsWith("PrismaClient");

const SQLSTATE = /^[0-9A-Z]{5}$/;
const has = (f: Fields, text: string) => f.message.includes(text);

/**
 * The SQLSTATE a PostgreSQL server (or Hyperdrive) sent, if the error carries one: in `code` (pg, Postgres.js,
 * Prisma's payload) or `sqlState`. A Node error code of five letters (`EPIPE`) is not one: every SQLSTATE class
 * the drivers see has a digit.
 */
function sqlStateOf(f: Fields): string | undefined {
  if (f.sqlState !== undefined) return f.sqlState;
  return f.code !== undefined && SQLSTATE.test(f.code) && /\d/.test(f.code) ? f.code : undefined;
}

/**
 * PostgreSQL's class 57 (operator intervention) is about the connection, not the query, except 57014
 * (query_canceled: a statement timeout or a cancel, the query's own outcome, which passes through).
 */
function serverEndedConnection(f: Fields): boolean {
  const state = sqlStateOf(f);
  return state !== undefined && state.startsWith("57") && state !== "57014";
}

/** Socket-level losses that mean a refused connect only before the connection was established. */
const connectOnly = (f: Fields) =>
  f.code === "ECONNREFUSED" ||
  /connection refused|connection attempt failed|cannot connect to the specified address/i.test(f.message);
const socketLost = (f: Fields) =>
  f.code === "ECONNRESET" ||
  f.code === "EPIPE" ||
  /Network connection lost|socket has been closed|Stream was cancelled/i.test(f.message);

/** Ordered: the first rule that matches wins, so specific messages come before generic ones. */
const rules: ReadonlyArray<readonly [HyperdriveErrorCode, (f: Fields) => boolean]> = [
  // Hyperdrive's own messages, on either engine (Postgres wraps them in SQLSTATE 58000).
  ["HDK_HYPERDRIVE_MYSQL_PREPARE_UNSUPPORTED", (f) => has(f, "COM_STMT_PREPARE")],
  ["HDK_HYPERDRIVE_POOL_EXHAUSTED", (f) => has(f, "Failed to acquire a connection from the pool")],
  ["HDK_HYPERDRIVE_ORIGIN_REFUSED", (f) => has(f, "Server connection attempt failed: connection_refused")],
  // PostgreSQL wraps it in SQLSTATE 58000; MySQL sends it as a generic server error (1105, HY000).
  [
    "HDK_HYPERDRIVE_INTERNAL",
    (f) =>
      // mysqljs prefixes its code: "ER_UNKNOWN_ERROR: Internal error."; mariadb "(conn:1, no: 1105, …) Internal error."
      /(^|: |\) )Internal error\.?$/.test(f.message.trim()) &&
      (f.code === "58000" || f.sqlState === "58000" || f.errno === 1105),
  ],
  [
    "HDK_HYPERDRIVE_UNSUPPORTED",
    (f) => (f.code === "58000" || f.sqlState === "58000") && /does not (currently )?support/i.test(f.message),
  ],
  ["HDK_HYPERDRIVE_ERROR", (f) => f.code === "58000" || f.sqlState === "58000"],

  // Configuration errors, as the Cloudflare API and wrangler report them.
  ["HDK_CONFIG_BAD_HOSTNAME", (f) => f.numericCode === 2008],
  ["HDK_CONFIG_PRIVATE_ADDRESS", (f) => f.numericCode === 2009],
  ["HDK_CONFIG_UNREACHABLE", (f) => f.numericCode === 2010],
  ["HDK_CONFIG_CONNECTION_REFUSED", (f) => f.numericCode === 2011],
  ["HDK_CONFIG_TLS_UNSUPPORTED", (f) => f.numericCode === 2012],
  ["HDK_CONFIG_INVALID_CREDENTIALS", (f) => f.numericCode === 2013],
  ["HDK_CONFIG_DATABASE_NOT_FOUND", (f) => f.numericCode === 2014],
  ["HDK_CONFIG_GENERIC", (f) => f.numericCode === 2015],
  ["HDK_CONFIG_TEST_QUERY_FAILED", (f) => f.numericCode === 2016],
  ["HDK_CONFIG_CLIENT_CERT_REQUIRED", (f) => has(f, "Server return error and closed connection")],
  ["HDK_CONFIG_CERT_VALIDATION_FAILED", (f) => has(f, "cert validation failed")],
  // The same causes met at connect time locally, where the driver talks to the database directly.
  // pg's SCRAM code throws "SASL: …" when the password is missing or the server's proof does not match.
  [
    "HDK_CONFIG_INVALID_CREDENTIALS",
    (f) => f.code === "28P01" || f.code === "28000" || f.errno === 1045 || f.message.startsWith("SASL: "),
  ],
  // MySQL answers 1044 (access denied to the database) instead of 1049 to a user without global privileges, for a
  // missing database and for one not granted to it alike. Only at the handshake (fatal): `CREATE DATABASE` without
  // the privilege is also 1044, a database error about a query.
  ["HDK_CONFIG_DATABASE_NOT_FOUND", (f) => f.code === "3D000" || f.errno === 1049 || (f.errno === 1044 && f.fatal)],
  // PostgreSQL's "too many connections" (53300) comes only at connect: the connection was refused.
  ["HDK_CONNECT_REFUSED", (f) => f.code === "53300"],

  // PostgreSQL's class 57: the server refused the connection for now (57P03, starting up or shutting down), or ended
  // it (57P01 admin shutdown, 57P02 crash, 57P05 idle session timeout…); at connect time, either is a refusal.
  ["HDK_CONNECT_REFUSED", (f) => serverEndedConnection(f) && (sqlStateOf(f) === "57P03" || f.connectFailure)],
  ["HDK_CONNECTION_LOST", serverEndedConnection],

  // Workers runtime.
  ["HDK_NODEJS_COMPAT_MISSING", (f) => /No such module "node:/.test(f.message)],
  ["HDK_EVAL_DISALLOWED", (f) => has(f, "Code generation from strings disallowed")],
  ["HDK_GLOBAL_SCOPE", (f) => has(f, "Disallowed operation called within global scope")],
  // In a Durable Object workerd says "a different Durable Object": one object's I/O used from another's code.
  [
    "HDK_CROSS_REQUEST_IO",
    (f) =>
      has(f, "Cannot perform I/O on behalf of a different request") ||
      has(f, "Cannot perform I/O on behalf of a different Durable Object"),
  ],

  // node-postgres.
  ["HDK_PG_CONNECTION_TERMINATED_UNEXPECTEDLY", (f) => has(f, "Connection terminated unexpectedly")],
  // pg's "Connection terminated due to connection timeout" is a timeout (HDK_TIMEOUT, below), not this row.
  ["HDK_PG_CONNECTION_TERMINATED", (f) => f.message === "Connection terminated"],
  ["HDK_PG_CLIENT_BROKEN", (f) => has(f, "Client has encountered a connection error and is not queryable")],
  ["HDK_PG_CLIENT_CLOSED", (f) => has(f, "Client was closed and is not queryable")],
  ["HDK_PG_POOL_ENDED", (f) => has(f, "Cannot use a pool after calling end on the pool")],
  ["HDK_PG_CLIENT_REUSED", (f) => has(f, "Client has already been connected. You cannot reuse a client.")],

  // Postgres.js.
  // 4.x: no connection within `queue_timeout`, a query past `query_timeout`, a canceled query the server never
  // answered (the connection is destroyed with that as its cause): each is a wait that ran out.
  [
    "HDK_TIMEOUT",
    (f) =>
      f.code === "QUEUE_TIMEOUT" ||
      f.code === "QUERY_TIMEOUT" ||
      f.code === "CANCEL_UNANSWERED" ||
      (f.code === "CONNECTION_DESTROYED" && f.causeCode === "CANCEL_UNANSWERED"),
  ],
  ["HDK_POSTGRES_UNSAFE_TRANSACTION", (f) => f.code === "UNSAFE_TRANSACTION"],
  ["HDK_POSTGRES_TRANSACTION_ROLLED_BACK", (f) => f.code === "TRANSACTION_ROLLED_BACK"],
  ["HDK_POSTGRES_ARRAY_REMOVED", (f) => f.code === "ARRAY_REMOVED"],
  ["HDK_POSTGRES_CONNECTION_ENDED", (f) => f.code === "CONNECTION_ENDED"],
  ["HDK_POSTGRES_CONNECTION_DESTROYED", (f) => f.code === "CONNECTION_DESTROYED"],
  ["HDK_POSTGRES_CONNECTION_CLOSED", (f) => f.code === "CONNECTION_CLOSED"],

  // mysql2 and mysql.
  ["HDK_MYSQL2_CONNECTION_CLOSED", (f) => has(f, "Can't add new command when connection is in closed state")],
  ["HDK_MYSQL2_POOL_CLOSED", (f) => f.message === "Pool is closed." || f.code === "POOL_CLOSED"],
  ["HDK_MYSQL_CONNECTION_LOST", (f) => f.code === "PROTOCOL_CONNECTION_LOST"],
  // The `mariadb` driver (under @prisma/adapter-mariadb): ER_SOCKET_UNEXPECTED_CLOSE, and ER_CMD_CONNECTION_CLOSED
  // (a command on a connection it has already closed: a transaction's next query after its connection died).
  [
    "HDK_MYSQL_CONNECTION_LOST",
    (f) =>
      f.code === "ER_SOCKET_UNEXPECTED_CLOSE" ||
      f.code === "ER_CMD_CONNECTION_CLOSED" ||
      f.errno === 45009 ||
      f.errno === 45013,
  ],
  ["HDK_MYSQL_ENQUEUE_AFTER_FATAL", (f) => f.code === "PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR"],
  ["HDK_MYSQL_ENQUEUE_AFTER_QUIT", (f) => f.code === "PROTOCOL_ENQUEUE_AFTER_QUIT"],
  ["HDK_MYSQL_HANDSHAKE_TWICE", (f) => f.code === "PROTOCOL_ENQUEUE_HANDSHAKE_TWICE"],
];

/** Checked only for errors the database did not report: a query's own "statement timeout" must pass through. */
const faultRules: ReadonlyArray<readonly [HyperdriveErrorCode, (f: Fields) => boolean]> = [
  [
    "HDK_TIMEOUT",
    (f) =>
      f.code === "CONNECT_TIMEOUT" ||
      f.code === "ETIMEDOUT" ||
      f.code === "PROTOCOL_SEQUENCE_TIMEOUT" ||
      /\btimeout\b|timed out/i.test(f.message),
  ],
  ["HDK_CONNECT_REFUSED", (f) => connectOnly(f) || (socketLost(f) && f.connectFailure)],
  // The same loss on an established connection (an adapter reports every failed connect): work may have run.
  ["HDK_CONNECTION_LOST", socketLost],
];

/**
 * Maps any error from the four drivers, the Workers runtime or Hyperdrive to a catalogue entry, or says that the
 * database reported it about a query (then it passes through unchanged, so ORMs keep mapping SQLSTATE / errno).
 */
export function classify(error: unknown): Classification {
  for (const link of causeChain(error)) {
    const result = classifyOne(link);
    if (result.type !== "unknown") return result;
  }
  return { type: "unknown" };
}

/**
 * The error and the causes it wraps, outermost first. ORMs wrap what the driver threw (Drizzle's `DrizzleQueryError`,
 * a Kysely plugin's error) and keep it as `cause` (Prisma: `meta.driverAdapterError`): such an error classifies as
 * what it wraps.
 */
function* causeChain(error: unknown): Generator<unknown> {
  const seen = new Set<unknown>();
  for (let link = error; link != null && !seen.has(link) && seen.size < 8; ) {
    seen.add(link);
    yield link;
    const next = typeof link === "object" ? (link as { cause?: unknown; meta?: { driverAdapterError?: unknown } }) : {};
    link = next.cause ?? next.meta?.driverAdapterError;
  }
}

/**
 * The `HyperdriveError` behind `error`: itself, one an ORM wrapped, or a catalogued driver error in its cause chain
 * turned into one. `undefined` for database errors about a query and for errors outside the catalogue.
 */
export function findHyperdriveError(error: unknown): HyperdriveError | undefined {
  for (const link of causeChain(error)) {
    if (isHyperdriveError(link)) return link;
    const revived = revive(link);
    if (revived !== undefined) return revived;
    const result = classifyOne(link);
    if (result.type === "database") return undefined;
    if (result.type === "catalog") return toHyperdriveError(link) as HyperdriveError;
  }
  return undefined;
}

function classifyOne(error: unknown): Classification {
  if (isHyperdriveError(error)) return catalogued(error.code);
  const f = fieldsOf(error);
  // A HyperdriveError's code and message copied into another error (Prisma does this).
  if (f.code !== undefined && Object.hasOwn(catalog, f.code)) return catalogued(f.code as HyperdriveErrorCode);
  const crossed = crossedCode(f.message);
  if (crossed !== undefined) return catalogued(crossed);
  // A Workflow step that ran past its `timeout`: the engine's verdict on the step, not a database timeout.
  if (
    f.name === "WorkflowTimeoutError" ||
    f.message.startsWith("WorkflowTimeoutError") ||
    /^Execution timed out after \d+ ?ms$/.test(f.message)
  ) {
    return { type: "unknown" };
  }
  if (typeof error === "object" && error !== null && isPrismaClientError(error as Record<string, unknown>)) {
    return { type: "unknown" };
  }
  for (const [code, test] of rules) if (test(f)) return catalogued(code);
  const sqlState = f.code !== undefined && SQLSTATE.test(f.code) ? f.code : f.sqlState;
  const serverErrno = f.errno !== undefined && f.errno >= 1000 && f.errno < 2000;
  if ((sqlState !== undefined && f.code === sqlState) || serverErrno) {
    return { type: "database", sqlState, errno: f.errno };
  }
  for (const [code, test] of faultRules) if (test(f)) return catalogued(code);
  return { type: "unknown" };
}

/**
 * A HyperdriveError's message starts with `[hyperdrive-kit] [driver] CODE:`. An error that crossed an RPC call or a
 * Workflow step keeps its message, but workerd's default serialization drops its other fields and its name (or puts
 * the name in front of the message): the code is read back from there, and only a catalogued code counts.
 */
const CROSSED = /^(?:[A-Za-z]*Error: )*\[hyperdrive-kit\](?: \[[a-z0-9]+\])? (HDK_[A-Z0-9_]+): /;

function crossedCode(message: string): HyperdriveErrorCode | undefined {
  const code = CROSSED.exec(message)?.[1];
  return code !== undefined && Object.hasOwn(catalog, code) ? (code as HyperdriveErrorCode) : undefined;
}

/** The driver named in a crossed HyperdriveError's message, if any. */
function crossedDriver(message: string): DriverName | undefined {
  const driver = /^(?:[A-Za-z]*Error: )*\[hyperdrive-kit\] \[([a-z0-9]+)\] /.exec(message)?.[1];
  return driver === "pg" || driver === "postgres" || driver === "mysql2" || driver === "mysql" || driver === "mariadb"
    ? driver
    : undefined;
}

/**
 * A HyperdriveError again, from one that crossed an RPC call or a Workflow step as a plain `Error`: the catalogue's
 * fields for its code, its own message (which says what this occurrence added), the crossed error as `cause`.
 */
function revive(error: unknown): HyperdriveError | undefined {
  const message = fieldsOf(error).message;
  const code = crossedCode(message);
  if (code === undefined) return undefined;
  const sqlState = /SQLSTATE ([0-9A-Z]{5})\)/.exec(message)?.[1];
  const revived = new HyperdriveError(code, { driver: crossedDriver(message), cause: error, sqlState });
  revived.message = message.replace(/^(?:[A-Za-z]*Error: )+(?=\[hyperdrive-kit\])/, "");
  return revived;
}

function catalogued(code: HyperdriveErrorCode): Classification {
  return { type: "catalog", code, entry: catalog[code] };
}

/** PostgreSQL's "too many connections": a refused connect whose fix is about connection limits, not reachability. */
const TOO_MANY_CONNECTIONS = "53300";
const TOO_MANY_FIX =
  "The database is at its connection limit (`max_connections`, or the role's or database's `CONNECTION LIMIT`): close connections held elsewhere (other apps, idle pool clients, open `psql` sessions) or raise the limit; retry after a moment if it was a short peak.";

/**
 * Wraps a driver error in a HyperdriveError when it is in the catalogue; returns database errors, unknown errors
 * and HyperdriveErrors unchanged.
 */
export function toHyperdriveError(
  error: unknown,
  options: {
    driver?: DriverName;
    secrets?: readonly string[];
    context?: string;
    /**
     * The error reached a handle used inside its own request, so it cannot come from a client reused across
     * requests: entries whose seed fix says "do not reuse clients" use their `fixInRequest` instead.
     */
    inRequest?: boolean;
  } = {},
): unknown {
  if (isHyperdriveError(error)) return error;
  const revived = revive(error);
  if (revived !== undefined) return revived;
  const result = classify(error);
  if (result.type !== "catalog") return error;
  const fields = fieldsOf(error);
  const copied = copiedText(fields, result.code);
  if (copied !== undefined) {
    // An ORM's error that copied a HyperdriveError's code and message (Prisma): its text and fix, once.
    const context = [options.context, copied.wrapper && `(${copied.wrapper})`, copied.context]
      .filter(Boolean)
      .join(" ");
    return new HyperdriveError(result.code, {
      driver: options.driver ?? copied.driver,
      secrets: options.secrets,
      context,
      cause: error,
      fix: copied.fix,
      sqlState: copied.sqlState,
    });
  }
  const sqlState = sqlStateOf(fields);
  const said = fields.message
    ? `(driver said: ${fields.message}${sqlState === undefined ? "" : `; SQLSTATE ${sqlState}`})`
    : undefined;
  const context = [options.context, said].filter(Boolean).join(" ");
  const { driver, secrets } = options;
  const fix =
    sqlState === TOO_MANY_CONNECTIONS ? TOO_MANY_FIX : options.inRequest ? result.entry.fixInRequest : undefined;
  return new HyperdriveError(result.code, { driver, secrets, context, cause: error, fix, sqlState });
}

/**
 * The parts of a HyperdriveError's message that an ORM copied into its own (`Invalid prisma.$queryRawUnsafe()
 * invocation: [hyperdrive-kit] [mariadb] HDK_…: details context Fix: fix`), or `undefined` when `fields` is not such
 * a copy.
 */
function copiedText(
  fields: Fields,
  code: HyperdriveErrorCode,
):
  | { wrapper: string; driver: DriverName | undefined; context: string; fix: string; sqlState: string | undefined }
  | undefined {
  if (fields.code !== code) return undefined;
  const { message } = fields;
  const start = message.indexOf("[hyperdrive-kit]");
  if (start < 0) return undefined;
  const head = `${code}: ${catalog[code].details}`;
  const body = message.indexOf(head, start);
  const fixAt = message.lastIndexOf(" Fix: ");
  if (body < 0 || fixAt < body) return undefined;
  const driver = /^\[hyperdrive-kit\] \[([a-z0-9]+)\]/.exec(message.slice(start))?.[1] as DriverName | undefined;
  const context = message.slice(body + head.length, fixAt).trim();
  return {
    wrapper: message.slice(0, start).trim().replace(/:$/, ""),
    driver,
    context,
    fix: message.slice(fixAt + " Fix: ".length).trim(),
    sqlState: /SQLSTATE ([0-9A-Z]{5})\)/.exec(context)?.[1],
  };
}
