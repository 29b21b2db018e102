import { describe, expect, it } from "vitest";
import { markConnectFailure } from "../src/classify.ts";
import {
  catalog,
  classify,
  findHyperdriveError,
  HyperdriveError,
  type HyperdriveErrorCode,
  isHyperdriveError,
  toHyperdriveError,
} from "../src/index.ts";

const error = (message: string, fields: Record<string, unknown> = {}) => Object.assign(new Error(message), fields);

// The seed's exact messages and codes (Cloudflare's Hyperdrive troubleshooting page), one per row.
const seedRows: Array<[HyperdriveErrorCode, unknown]> = [
  ["HDK_CONFIG_BAD_HOSTNAME", { code: 2008, message: "Bad hostname." }],
  ["HDK_CONFIG_PRIVATE_ADDRESS", { code: 2009, message: "private" }],
  ["HDK_CONFIG_UNREACHABLE", { code: 2010, message: "Cannot connect to the host:port." }],
  ["HDK_CONFIG_CONNECTION_REFUSED", { code: 2011, message: "Connection refused." }],
  ["HDK_CONFIG_TLS_UNSUPPORTED", { code: 2012, message: "TLS (SSL) not supported by the database." }],
  ["HDK_CONFIG_INVALID_CREDENTIALS", { code: 2013, message: "Invalid database credentials." }],
  ["HDK_CONFIG_DATABASE_NOT_FOUND", { code: 2014, message: "The specified database name does not exist." }],
  ["HDK_CONFIG_GENERIC", { code: 2015, message: "Generic error." }],
  ["HDK_CONFIG_TEST_QUERY_FAILED", { code: 2016, message: "Test query failed." }],
  [
    "HDK_CONFIG_CLIENT_CERT_REQUIRED",
    error("Failed to connect to the provided database: Server return error and closed connection."),
  ],
  [
    "HDK_CONFIG_CERT_VALIDATION_FAILED",
    error("Failed to connect to the provided database: TLS handshake failed: cert validation failed."),
  ],
  ["HDK_HYPERDRIVE_INTERNAL", error("Internal error.", { code: "58000", severity: "ERROR" })],
  ["HDK_HYPERDRIVE_INTERNAL", error("Internal error.", { errno: 1105, sqlState: "HY000" })],
  ["HDK_HYPERDRIVE_INTERNAL", error("ER_UNKNOWN_ERROR: Internal error.", { errno: 1105, code: "ER_UNKNOWN_ERROR" })],
  ["HDK_HYPERDRIVE_POOL_EXHAUSTED", error("Failed to acquire a connection from the pool.", { code: "58000" })],
  ["HDK_HYPERDRIVE_ORIGIN_REFUSED", error("Server connection attempt failed: connection_refused", { code: "58000" })],
  [
    "HDK_HYPERDRIVE_MYSQL_PREPARE_UNSUPPORTED",
    error("Hyperdrive does not currently support MySQL COM_STMT_PREPARE messages", { errno: 1105, sqlState: "HY000" }),
  ],
  [
    "HDK_HYPERDRIVE_UNSUPPORTED",
    error("Hyperdrive does not support advisory locks: a pooled connection does not keep them", { code: "58000" }),
  ],
  ["HDK_HYPERDRIVE_ERROR", error("some new Hyperdrive message", { code: "58000" })],
  ["HDK_NODEJS_COMPAT_MISSING", error('Uncaught Error: No such module "node:net".')],
  ["HDK_EVAL_DISALLOWED", error("Code generation from strings disallowed for this context")],
  [
    "HDK_GLOBAL_SCOPE",
    error(
      "Disallowed operation called within global scope. Asynchronous I/O (ex: fetch() or connect()), setting a timeout, and generating random values are not allowed within global scope.",
    ),
  ],
  [
    "HDK_CROSS_REQUEST_IO",
    error(
      "Cannot perform I/O on behalf of a different request. I/O objects (such as streams, request/response bodies, and others) created in the context of one request handler cannot be accessed from a different request's handler.",
    ),
  ],
  ["HDK_PG_CONNECTION_TERMINATED", error("Connection terminated")],
  ["HDK_PG_CONNECTION_TERMINATED_UNEXPECTEDLY", error("Connection terminated unexpectedly")],
  ["HDK_PG_CLIENT_BROKEN", error("Client has encountered a connection error and is not queryable")],
  ["HDK_PG_CLIENT_CLOSED", error("Client was closed and is not queryable")],
  ["HDK_PG_POOL_ENDED", error("Cannot use a pool after calling end on the pool")],
  ["HDK_PG_CLIENT_REUSED", error("Client has already been connected. You cannot reuse a client.")],
  [
    "HDK_POSTGRES_CONNECTION_ENDED",
    error("write CONNECTION_ENDED abc.hyperdrive.local:5432", { code: "CONNECTION_ENDED" }),
  ],
  [
    "HDK_POSTGRES_CONNECTION_DESTROYED",
    error("write CONNECTION_DESTROYED abc.hyperdrive.local:5432", { code: "CONNECTION_DESTROYED" }),
  ],
  [
    "HDK_POSTGRES_CONNECTION_CLOSED",
    error("write CONNECTION_CLOSED abc.hyperdrive.local:5432", { code: "CONNECTION_CLOSED" }),
  ],
  ["HDK_MYSQL2_CONNECTION_CLOSED", error("Can't add new command when connection is in closed state")],
  [
    "HDK_MYSQL_CONNECTION_LOST",
    error("Connection lost: The server closed the connection.", { code: "PROTOCOL_CONNECTION_LOST", fatal: true }),
  ],
  ["HDK_MYSQL2_POOL_CLOSED", error("Pool is closed.")],
  [
    "HDK_MYSQL_ENQUEUE_AFTER_FATAL",
    error("Cannot enqueue Query after fatal error.", { code: "PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR" }),
  ],
  [
    "HDK_MYSQL_ENQUEUE_AFTER_QUIT",
    error("Cannot enqueue Query after invoking quit.", { code: "PROTOCOL_ENQUEUE_AFTER_QUIT" }),
  ],
  [
    "HDK_MYSQL_HANDSHAKE_TWICE",
    error("Cannot enqueue Handshake after already enqueuing a Handshake.", {
      code: "PROTOCOL_ENQUEUE_HANDSHAKE_TWICE",
    }),
  ],
];

describe("classify", () => {
  it.each(seedRows)("maps the seed's row to %s", (code, input) => {
    const result = classify(input);
    expect(result).toMatchObject({ type: "catalog", code });
    if (result.type === "catalog") expect(result.entry).toBe(catalog[code]);
  });

  it("passes database errors about a query through, SQLSTATE and errno intact", () => {
    expect(classify(error("duplicate key", { code: "23505", severity: "ERROR" }))).toEqual({
      type: "database",
      sqlState: "23505",
      errno: undefined,
    });
    expect(classify(error("Duplicate entry", { code: "ER_DUP_ENTRY", errno: 1062, sqlState: "23000" }))).toEqual({
      type: "database",
      sqlState: "23000",
      errno: 1062,
    });
    // A query's own statement timeout is the database's answer, not a connection fault.
    expect(classify(error("canceling statement due to statement timeout", { code: "57014" }))).toMatchObject({
      type: "database",
      sqlState: "57014",
    });
  });

  it("maps connect-time credential and database errors to the configuration entries", () => {
    expect(classify(error('password authentication failed for user "x"', { code: "28P01" }))).toMatchObject({
      code: "HDK_CONFIG_INVALID_CREDENTIALS",
    });
    expect(classify(error("Access denied for user", { errno: 1045, code: "ER_ACCESS_DENIED_ERROR" }))).toMatchObject({
      code: "HDK_CONFIG_INVALID_CREDENTIALS",
    });
    expect(classify(error('database "nope" does not exist', { code: "3D000" }))).toMatchObject({
      code: "HDK_CONFIG_DATABASE_NOT_FOUND",
    });
  });

  it("maps MySQL's 1044 at the handshake (fatal) to HDK_CONFIG_DATABASE_NOT_FOUND, and leaves a query's 1044 alone", () => {
    // A user without global privileges gets 1044 for a missing database and for one not granted to it.
    const handshake = error("Access denied for user 'u'@'%' to database 'nope'", {
      errno: 1044,
      code: "ER_DBACCESS_DENIED_ERROR",
      sqlState: "42000",
      fatal: true,
    });
    expect(classify(handshake)).toMatchObject({ type: "catalog", code: "HDK_CONFIG_DATABASE_NOT_FOUND" });
    const fix = (toHyperdriveError(handshake, { driver: "mysql2" }) as HyperdriveError).fix;
    expect(fix).toContain("exists");
    expect(fix).toContain("GRANT ALL ON <database>.* TO <user>");
    // The MySQL advice is for MySQL only.
    const postgres = error('database "nope" does not exist', { code: "3D000" });
    for (const driver of ["pg", "postgres"] as const) {
      const pgFix = (toHyperdriveError(postgres, { driver }) as HyperdriveError).fix;
      expect(pgFix).toBe(catalog.HDK_CONFIG_DATABASE_NOT_FOUND.fix);
      expect(pgFix).not.toContain("MySQL");
    }
    // CREATE DATABASE without the privilege: the database's answer about a query.
    const query = error("Access denied for user 'u'@'%' to database 'x'", { errno: 1044, sqlState: "42000" });
    expect(classify(query)).toMatchObject({ type: "database", errno: 1044 });
  });

  it("gives a connection dropped under a handle used in its own request a fix that fits: no reuse advice", () => {
    const cases = [
      ["HDK_PG_CONNECTION_TERMINATED_UNEXPECTEDLY", error("Connection terminated unexpectedly")],
      ["HDK_PG_CLIENT_BROKEN", error("Client has encountered a connection error and is not queryable")],
      ["HDK_POSTGRES_CONNECTION_CLOSED", error("write CONNECTION_CLOSED h:5432", { code: "CONNECTION_CLOSED" })],
      ["HDK_MYSQL_CONNECTION_LOST", error("Connection lost", { code: "PROTOCOL_CONNECTION_LOST", fatal: true })],
      ["HDK_MYSQL_ENQUEUE_AFTER_FATAL", error("Cannot enqueue", { code: "PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR" })],
    ] as const;
    for (const [code, driverError] of cases) {
      const general = toHyperdriveError(driverError) as HyperdriveError;
      const inRequest = toHyperdriveError(driverError, { inRequest: true }) as HyperdriveError;
      expect(general.fix).toBe(catalog[code].fix); // the seed's words, for a client the user manages
      expect(inRequest.code).toBe(code);
      expect(inRequest.fix, code).not.toMatch(/global|reus(e|ing) one/);
      expect(inRequest.fix, code).toMatch(/not reused/);
      expect(inRequest.fix, code).toMatch(/retry/);
      expect(inRequest.message).toContain(inRequest.fix);
    }
  });

  it("tells a client closed by its own end() inside the handle to leave closing to teardown, not to stop reusing it", () => {
    const cases = [
      ["HDK_PG_CLIENT_CLOSED", error("Client was closed and is not queryable")],
      ["HDK_PG_POOL_ENDED", error("Cannot use a pool after calling end on the pool")],
      ["HDK_POSTGRES_CONNECTION_ENDED", error("write CONNECTION_ENDED h:5432", { code: "CONNECTION_ENDED" })],
      ["HDK_MYSQL_ENQUEUE_AFTER_QUIT", error("Cannot enqueue Query", { code: "PROTOCOL_ENQUEUE_AFTER_QUIT" })],
    ] as const;
    for (const [code, driverError] of cases) {
      const inRequest = toHyperdriveError(driverError, { inRequest: true }) as HyperdriveError;
      expect(inRequest.code).toBe(code);
      expect(inRequest.fix, code).not.toMatch(/new `?(Client|postgres\(\)|connection)|global/);
      expect(inRequest.fix, code).toMatch(/`end\(\)` was called on it earlier in this request/);
      expect(inRequest.fix, code).toMatch(/Leave closing to the handle's teardown/);
    }
  });

  it("says a statement Hyperdrive refuses is not worth retrying", () => {
    const refused = error("Hyperdrive does not support LISTEN, UNLISTEN or NOTIFY", { code: "58000" });
    const mapped = toHyperdriveError(refused, { driver: "pg" }) as HyperdriveError;
    expect(mapped.code).toBe("HDK_HYPERDRIVE_UNSUPPORTED");
    expect(mapped.retryable).toBe(false);
    expect(mapped.fix).not.toContain("wrangler hyperdrive get");
  });

  it("gives a connection refused for too many connections (53300) a fix about connection limits", () => {
    const tooMany = error("sorry, too many clients already", { code: "53300", severity: "FATAL" });
    for (const inRequest of [false, true]) {
      const mapped = toHyperdriveError(tooMany, { driver: "postgres", inRequest }) as HyperdriveError;
      expect(mapped.code).toBe("HDK_CONNECT_REFUSED");
      expect(mapped.sqlState).toBe("53300");
      expect(mapped.fix).toContain("max_connections");
      expect(mapped.fix).not.toContain("database is running");
    }
    // Any other refusal keeps the catalogue's fix.
    const refused = error("connect ECONNREFUSED 127.0.0.1:5432", { code: "ECONNREFUSED" });
    expect((toHyperdriveError(refused, { driver: "pg" }) as HyperdriveError).fix).toContain("database is running");
  });

  it("maps Postgres.js 4's own errors, as 4.2.0 words them, and a refused connection's 53300", () => {
    // Errors.generic(code, message) in postgres@4.2.0 src/errors.js: `${code}: ${message}` with `code`.
    const generic = (code: string, message: string, fields: Record<string, unknown> = {}) =>
      error(`${code}: ${message}`, { code, ...fields });
    const cancelUnanswered = generic("CANCEL_UNANSWERED", "The server sent nothing within cancel_timeout (5 seconds)");
    const cases: Array<[HyperdriveErrorCode, unknown]> = [
      ["HDK_TIMEOUT", generic("QUEUE_TIMEOUT", "Waited more than 10.05 seconds for a connection")],
      ["HDK_TIMEOUT", generic("QUERY_TIMEOUT", "The query did not finish within query_timeout (2 seconds)")],
      ["HDK_TIMEOUT", cancelUnanswered],
      [
        "HDK_TIMEOUT",
        error("write CONNECTION_DESTROYED h:5432", { code: "CONNECTION_DESTROYED", cause: cancelUnanswered }),
      ],
      ["HDK_POSTGRES_UNSAFE_TRANSACTION", generic("UNSAFE_TRANSACTION", "The transaction has ended")],
      [
        "HDK_POSTGRES_TRANSACTION_ROLLED_BACK",
        generic("TRANSACTION_ROLLED_BACK", "The server rolled back the transaction instead of committing it"),
      ],
      ["HDK_POSTGRES_ARRAY_REMOVED", generic("ARRAY_REMOVED", "sql.array() is removed in v4, pass the array as it is")],
      // PostgreSQL refuses a connection past max_connections (3.x rejects with it at once; 4.x retries it).
      [
        "HDK_CONNECT_REFUSED",
        error("sorry, too many clients already", { code: "53300", severity: "FATAL", name: "PostgresError" }),
      ],
      // A destroyed connection without that cause keeps its own entry.
      [
        "HDK_POSTGRES_CONNECTION_DESTROYED",
        error("write CONNECTION_DESTROYED h:5432", { code: "CONNECTION_DESTROYED" }),
      ],
    ];
    for (const [code, driverError] of cases) {
      const result = classify(driverError);
      expect(result.type === "catalog" && result.code, String(driverError)).toBe(code);
    }
  });

  it("maps faults every driver words differently", () => {
    expect(classify(error("write CONNECT_TIMEOUT x:5432", { code: "CONNECT_TIMEOUT" }))).toMatchObject({
      code: "HDK_TIMEOUT",
    });
    expect(classify(error("connect ECONNREFUSED 127.0.0.1:1", { code: "ECONNREFUSED" }))).toMatchObject({
      code: "HDK_CONNECT_REFUSED",
    });
    // A socket lost on an established connection: work may have run. The same loss failing a connect (an adapter
    // reports those) is a refusal.
    expect(classify(error("Network connection lost."))).toMatchObject({ code: "HDK_CONNECTION_LOST" });
    expect(classify(error("read ECONNRESET", { code: "ECONNRESET" }))).toMatchObject({ code: "HDK_CONNECTION_LOST" });
    const atConnect = error("Network connection lost.");
    markConnectFailure(atConnect);
    expect(classify(atConnect)).toMatchObject({ code: "HDK_CONNECT_REFUSED" });
    expect(classify(error("connection attempt failed"))).toMatchObject({ code: "HDK_CONNECT_REFUSED" });
    // pg's own connect timeout is a timeout, not the seed's "Connection terminated" (an ended client).
    expect(classify(error("Connection terminated due to connection timeout"))).toMatchObject({ code: "HDK_TIMEOUT" });
  });

  it("types PostgreSQL's class 57 as a connection outcome, SQLSTATE kept; 57014 (a cancelled query) passes through", () => {
    const shutdown = error("terminating connection due to administrator command", { code: "57P01", severity: "FATAL" });
    const mapped = toHyperdriveError(shutdown, { driver: "pg" }) as HyperdriveError;
    expect(mapped.code).toBe("HDK_CONNECTION_LOST");
    expect(mapped.sqlState).toBe("57P01");
    expect(mapped.retryable).toBe(true);
    expect(mapped.message).toContain("SQLSTATE 57P01");
    expect(mapped.message).toContain("may or may not have run");
    expect(classify(error("terminating connection due to idle-session timeout", { code: "57P05" }))).toMatchObject({
      code: "HDK_CONNECTION_LOST",
    });
    const startingUp = toHyperdriveError(
      error("the database system is starting up", { code: "57P03" }),
    ) as HyperdriveError;
    expect([startingUp.code, startingUp.sqlState, startingUp.retryable]).toEqual([
      "HDK_CONNECT_REFUSED",
      "57P03",
      true,
    ]);
    const atConnect = error("terminating connection due to administrator command", { code: "57P01" });
    markConnectFailure(atConnect);
    expect(classify(atConnect)).toMatchObject({ code: "HDK_CONNECT_REFUSED" });
    const cancelled = error("canceling statement due to statement timeout", { code: "57014" });
    expect(classify(cancelled)).toEqual({ type: "database", sqlState: "57014", errno: undefined });
    // A Node error code of five letters is no SQLSTATE.
    expect((toHyperdriveError(error("write EPIPE", { code: "EPIPE" })) as HyperdriveError).sqlState).toBeUndefined();
  });

  it("re-wraps a HyperdriveError an ORM copied into its own message with its text and fix once", () => {
    const original = new HyperdriveError("HDK_CONNECT_REFUSED", {
      driver: "mariadb",
      context: "The connection failed before its handshake completed.",
    });
    const copied = Object.assign(
      new Error(`\nInvalid \`prisma.$queryRawUnsafe()\` invocation:\n\n\n${original.message}`),
      { name: "PrismaClientKnownRequestError", code: "HDK_CONNECT_REFUSED", clientVersion: "7.0.0" },
    );
    const found = findHyperdriveError(copied) as HyperdriveError;
    expect(found.code).toBe("HDK_CONNECT_REFUSED");
    expect(found.driver).toBe("mariadb");
    expect(found.fix).toBe(original.fix);
    expect(found.message.split("[hyperdrive-kit]")).toHaveLength(2);
    expect(found.message.split(" Fix: ")).toHaveLength(2);
    expect(found.message).toContain("The connection failed before its handshake completed.");
    expect(found.message).toContain("prisma.$queryRawUnsafe()");
    expect(found.cause).toBe(copied);
  });

  it("reads the mariadb driver's errors: its message prefix, its own socket-closed code", () => {
    const internal = error("(conn:12, no: 1105, SQLState: HY000) Internal error.", { errno: 1105, sqlState: "HY000" });
    expect(classify(internal)).toMatchObject({ code: "HDK_HYPERDRIVE_INTERNAL" });
    const closed = error("socket has unexpectedly been closed", { errno: 45009, code: "ER_SOCKET_UNEXPECTED_CLOSE" });
    expect(classify(closed)).toMatchObject({ code: "HDK_MYSQL_CONNECTION_LOST" });
    const commandAfterClose = error("Cannot execute new commands: connection closed", {
      errno: 45013,
      code: "ER_CMD_CONNECTION_CLOSED",
    });
    expect(classify(commandAfterClose)).toMatchObject({ code: "HDK_MYSQL_CONNECTION_LOST" });
  });

  it("reports unknown errors as unknown", () => {
    expect(classify(new TypeError("x is not a function"))).toEqual({ type: "unknown" });
    expect(classify(undefined)).toEqual({ type: "unknown" });
  });

  it("wraps catalogued errors and returns everything else unchanged", () => {
    const db = error("duplicate key", { code: "23505" });
    expect(toHyperdriveError(db)).toBe(db);
    const lost = error("Connection terminated unexpectedly");
    const wrapped = toHyperdriveError(lost, { driver: "pg" });
    expect(wrapped).toBeInstanceOf(HyperdriveError);
    expect(wrapped).toMatchObject({
      code: "HDK_PG_CONNECTION_TERMINATED_UNEXPECTEDLY",
      category: "connection",
      driver: "pg",
      retryable: true,
      cause: lost,
    });
    expect((wrapped as Error).message).toContain("Create a new `Client` inside your handler for every request.");
  });

  it("classifies an ORM's wrapper as the error it wraps (Drizzle's DrizzleQueryError keeps it as cause)", () => {
    const wrap = (cause: unknown) =>
      Object.assign(new Error("Failed query: select 1\nparams: ", { cause }), { name: "DrizzleQueryError" });
    const misuse = new HyperdriveError("HDK_HANDLE_AFTER_TEARDOWN", { driver: "postgres" });
    expect(classify(wrap(misuse))).toMatchObject({ type: "catalog", code: "HDK_HANDLE_AFTER_TEARDOWN" });
    expect(findHyperdriveError(wrap(misuse))).toBe(misuse);
    const lost = error("Connection terminated unexpectedly");
    expect(findHyperdriveError(wrap(lost))).toMatchObject({
      code: "HDK_PG_CONNECTION_TERMINATED_UNEXPECTEDLY",
      cause: lost,
    });
    // A database error about the query stays the database's, however deep.
    expect(classify(wrap(error("duplicate key", { code: "23505" })))).toMatchObject({ type: "database" });
    expect(findHyperdriveError(wrap(error("duplicate key", { code: "23505" })))).toBeUndefined();
    expect(findHyperdriveError(wrap(new TypeError("x")))).toBeUndefined();
    const cycle: { cause?: unknown } = new Error("a");
    cycle.cause = cycle;
    expect(classify(cycle)).toEqual({ type: "unknown" });
  });
});

describe("Prisma's errors", () => {
  // The shapes @prisma/client 7 builds (checked against 7.10 in packages/prisma's tests).
  const driverAdapterError = (cause: Record<string, unknown>) =>
    Object.assign(new Error(String(cause.kind)), { name: "DriverAdapterError", cause });
  const known = (code: string, meta?: Record<string, unknown>) =>
    Object.assign(new Error(`\nInvalid \`prisma.user.create()\` invocation:\n\n\nsomething (${code})`), {
      name: "PrismaClientKnownRequestError",
      code,
      clientVersion: "7.10.0",
      meta,
    });

  it("classifies a P-code as the database error its driver adapter error carries", () => {
    const unique = known("P2002", {
      driverAdapterError: driverAdapterError({
        kind: "UniqueConstraintViolation",
        originalCode: "23505",
        originalMessage: 'duplicate key value violates unique constraint "users_email_key"',
      }),
    });
    expect(classify(unique)).toEqual({ type: "database", sqlState: "23505", errno: undefined });
    expect(findHyperdriveError(unique)).toBeUndefined();
    const mysqlDuplicate = known("P2002", {
      driverAdapterError: driverAdapterError({ kind: "UniqueConstraintViolation", originalCode: "1062" }),
    });
    expect(classify(mysqlDuplicate)).toEqual({ type: "database", sqlState: undefined, errno: 1062 });
    // Kinds Prisma has no name for keep the driver's own fields.
    const killed = known("P2010", {
      driverAdapterError: driverAdapterError({
        kind: "postgres",
        code: "57P01",
        severity: "FATAL",
        message: "terminating connection due to administrator command",
      }),
    });
    // Class 57 is about the connection: typed, whoever carries it.
    expect(classify(killed)).toMatchObject({ type: "catalog", code: "HDK_CONNECTION_LOST" });
    const lost = known("P2010", {
      driverAdapterError: driverAdapterError({ kind: "mysql", code: 2013, message: "Lost connection", state: "HY000" }),
    });
    // 2013 is MySQL's errno here, not Hyperdrive's configuration error 2013.
    expect(classify(lost)).not.toMatchObject({ code: "HDK_CONFIG_INVALID_CREDENTIALS" });
    // The mariadb driver's own codes (45001–45999) are errnos, not SQLSTATEs: its socket closed (45009), and a command
    // on a connection it has already closed (45013; the soak: a transaction's next query after a kill).
    for (const [code, message] of [
      [45009, "socket has unexpectedly been closed"],
      [45013, "Cannot execute new commands: connection closed"],
    ] as const) {
      const closed = known("P2010", { driverAdapterError: driverAdapterError({ kind: "mysql", code, message }) });
      expect(classify(closed)).toMatchObject({ type: "catalog", code: "HDK_MYSQL_CONNECTION_LOST" });
    }
    const closedMapped = known("P2010", {
      driverAdapterError: driverAdapterError({ kind: "ConnectionClosed", originalCode: "45009", originalMessage: "x" }),
    });
    expect(classify(closedMapped)).toMatchObject({ type: "catalog", code: "HDK_MYSQL_CONNECTION_LOST" });
  });

  it("classifies Hyperdrive's answers and catalogued driver errors behind a P-code", () => {
    const pool = known("P2010", {
      driverAdapterError: driverAdapterError({
        kind: "postgres",
        code: "58000",
        severity: "ERROR",
        message: "Failed to acquire a connection from the pool.",
      }),
    });
    expect(classify(pool)).toMatchObject({ type: "catalog", code: "HDK_HYPERDRIVE_POOL_EXHAUSTED" });
    expect(findHyperdriveError(pool)?.code).toBe("HDK_HYPERDRIVE_POOL_EXHAUSTED");
    const denied = known("P1000", {
      driverAdapterError: driverAdapterError({
        kind: "AuthenticationFailed",
        originalCode: "28P01",
        originalMessage: "x",
      }),
    });
    expect(classify(denied)).toMatchObject({ type: "catalog", code: "HDK_CONFIG_INVALID_CREDENTIALS" });
  });

  it("classifies a HyperdriveError that Prisma copied into its own error (code and message only)", () => {
    const misuse = new HyperdriveError("HDK_HANDLE_CROSS_REQUEST", { driver: "pg" });
    const copied = known(misuse.code);
    copied.message = `\nInvalid \`prisma.user.findMany()\` invocation:\n\n\n${misuse.message}`;
    expect(classify(copied)).toMatchObject({ type: "catalog", code: "HDK_HANDLE_CROSS_REQUEST" });
    expect(findHyperdriveError(copied)).toMatchObject({ code: "HDK_HANDLE_CROSS_REQUEST", cause: copied });
  });

  it("never reads a P-code as a SQLSTATE", () => {
    // P2025 (record not found) is Prisma's own, with no driver error behind it.
    expect(classify(known("P2025", { modelName: "User" }))).toEqual({ type: "unknown" });
    // PL/pgSQL's RAISE (P0001) is a real SQLSTATE, and stays one.
    expect(classify(error("boom", { code: "P0001" }))).toMatchObject({ type: "database", sqlState: "P0001" });
  });
});

describe("errors that crossed an RPC call or a Workflow step", () => {
  // What workerd's default serialization delivers: a plain Error with the message (the name dropped, or put in front).
  const crossed = (original: HyperdriveError, prefix = "") => new Error(`${prefix}${original.message}`);

  it.each([
    ["HDK_BINDING_MISSING", undefined],
    ["HDK_HANDLE_CROSS_REQUEST", "pg"],
    ["HDK_HANDLE_OUTSIDE_ASYNC_CONTEXT", "mysql2"],
    ["HDK_TIMEOUT", "postgres"],
  ] as const)("%s keeps its code and driver", (code, driver) => {
    const original = new HyperdriveError(code, { driver, context: "Some context." });
    for (const error of [
      crossed(original),
      crossed(original, "HyperdriveError: "),
      crossed(original, "NonRetryableError: "),
    ]) {
      expect(classify(error)).toMatchObject({ type: "catalog", code });
      const found = findHyperdriveError(error);
      expect(found).toBeInstanceOf(HyperdriveError);
      expect(found).toMatchObject({ code, driver, message: original.message });
      expect(found?.cause).toBeInstanceOf(Error);
      expect(toHyperdriveError(error)).toMatchObject({ code, message: original.message });
    }
  });

  it("keeps own properties where the runtime serializes them (enhanced_error_serialization)", () => {
    const original = new HyperdriveError("HDK_BINDING_MISSING");
    const copy = Object.assign(new Error(original.message), { ...original.toJSON(), name: "HyperdriveError" });
    expect(isHyperdriveError(copy)).toBe(true);
    expect(classify(copy)).toMatchObject({ code: "HDK_BINDING_MISSING" });
  });

  it("mistakes nothing else for one", () => {
    for (const message of [
      "HDK_BINDING_MISSING: something",
      "[hyperdrive-kit] HDK_NOT_A_CODE: x",
      "an error that mentions [hyperdrive-kit] HDK_TIMEOUT: inside",
      "[hyperdrive-kit] [pg] HDK_TIMEOUT without a colon",
    ]) {
      expect(classify(new Error(message)).type === "catalog" && classify(new Error(message))).not.toMatchObject({
        code: "HDK_BINDING_MISSING",
      });
      expect(findHyperdriveError(new Error(message))?.code).not.toBe("HDK_BINDING_MISSING");
    }
    expect(classify(new Error("[hyperdrive-kit] HDK_NOT_A_CODE: x"))).toEqual({ type: "unknown" });
    expect(isHyperdriveError(Object.assign(new Error("x"), { name: "NonRetryableError", code: "OTHER" }))).toBe(false);
  });

  it("does not take a Workflow step timeout for the handle's HDK_TIMEOUT", () => {
    const timeout = Object.assign(new Error("Execution timed out after 1000ms"), { name: "WorkflowTimeoutError" });
    expect(classify(timeout)).toEqual({ type: "unknown" });
    expect(classify(new Error("WorkflowTimeoutError: Execution timed out after 1000ms"))).toEqual({ type: "unknown" });
    expect(classify(new Error("Execution timed out after 1000ms"))).toEqual({ type: "unknown" });
    expect(findHyperdriveError(timeout)).toBeUndefined();
    // A driver's own timeout still is one.
    expect(classify(new Error("Query read timeout"))).toMatchObject({ code: "HDK_TIMEOUT" });
  });
});
