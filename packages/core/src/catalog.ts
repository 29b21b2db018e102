/**
 * The error catalogue: one entry per row of Cloudflare's Hyperdrive troubleshooting page (seed 000), plus the
 * library's own errors. `details` and `fix` quote the seed where it has a row; the README's error tables are
 * generated from this file (`pnpm docs:errors`), so edit here, never in a README.
 */

export type ErrorCategory =
  | "configuration" // Hyperdrive could not reach or log in to the origin (config time, codes 2008–2016, TLS)
  | "hyperdrive" // Hyperdrive itself at run time (SQLSTATE 58000 on the wire)
  | "platform" // the Workers runtime refused something (global scope, cross-request I/O, node:*, eval)
  | "lifecycle" // a client used after it was ended, broken or reused
  | "connection" // the connection dropped, was refused or timed out
  | "usage"; // the library's own checks: binding, scope, unsafe options

export type DriverName = "pg" | "postgres" | "mysql2" | "mysql" | "mariadb";

export interface CatalogEntry {
  readonly category: ErrorCategory;
  /** What happened, in the seed's words where it has a row. */
  readonly details: string;
  /** What to do about it, in the seed's words where it has a row. */
  readonly fix: string;
  /** Where to read more. */
  readonly docs: string;
  /** Whether retrying the same operation on a new handle can succeed. */
  readonly retryable: boolean;
  /** The seed's message (or our own) as users see it; used for docs and for tests. */
  readonly message: string;
  /** Which drivers raise it; absent for driver-independent entries. */
  readonly drivers?: readonly DriverName[];
  /**
   * The fix when the error reaches a handle that was used correctly, inside its own request (so it was not reused):
   * the seed's fix (do not reuse clients) cannot apply there. Absent where the general fix fits both.
   */
  readonly fixInRequest?: string;
  /** Added to the fix unless the driver is a PostgreSQL one: advice that holds only on MySQL. */
  readonly fixOnMysql?: string;
}

const TROUBLESHOOTING = "https://developers.cloudflare.com/hyperdrive/observability/troubleshooting/";
const LIFECYCLE = "https://developers.cloudflare.com/hyperdrive/concepts/connection-lifecycle/";
const README = "https://github.com/hyperdrive-kit/hyperdrive-kit#errors";
/** What a connection that dropped under a correctly used handle can mean, and whether to retry. */
const DROPPED_IN_REQUEST =
  "Inside `withHyperdrive` the client was made for this request, so it was not reused: the connection dropped while the request ran. The database may have restarted or failed over, the network path may have broken, or the backend was killed (`pg_terminate_backend`, `KILL`, an idle or statement timeout on the server). A query in flight may or may not have run: retry on a new handle (a new `withHyperdrive` call) only if the work is idempotent; if it repeats, check the database's logs and status.";
const BROKEN_IN_REQUEST =
  "Inside `withHyperdrive` the client was made for this request, so it was not reused: its connection already failed earlier in this request (the first error says why: a restart, the network, a killed backend). Nothing more runs on it; retry the work on a new handle (a new `withHyperdrive` call) if it is idempotent.";
const CLOSED_IN_REQUEST =
  "Inside `withHyperdrive` the client was made for this request, so it was not reused: its connection was closed earlier in this request, by a call to `end()` (leave closing to the handle's teardown) or by a fatal error (the first error says why: a restart, the network, a killed backend). Nothing more runs on it; retry the work on a new handle (a new `withHyperdrive` call) if it is idempotent.";
const ENDED_IN_REQUEST =
  "Inside `withHyperdrive` the client was made for this request, so it was not reused: `end()` was called on it earlier in this request. Leave closing to the handle's teardown.";
const NEW_CLIENT_PER_REQUEST =
  "Create the client inside your handler for every request (`withHyperdrive` does this for you); never keep it in a global variable.";

const configuration = (message: string, details: string, fix: string, retryable = false): CatalogEntry => ({
  category: "configuration",
  message,
  details,
  fix,
  docs: `${TROUBLESHOOTING}#configuration-errors`,
  retryable,
});

export const catalog = {
  // Configuration errors (seed 000, "Configuration errors" and "Failure to connect").
  HDK_CONFIG_BAD_HOSTNAME: configuration(
    "2008",
    "Bad hostname.",
    "Hyperdrive could not resolve the database hostname. Confirm it exists in public DNS.",
  ),
  HDK_CONFIG_PRIVATE_ADDRESS: configuration(
    "2009",
    "The hostname does not resolve to a public IP address, or the IP address is not a public address.",
    "Hyperdrive can only connect to public IP addresses. Private IP addresses, like `10.1.5.0` or `192.168.2.1`, are not currently supported.",
  ),
  HDK_CONFIG_UNREACHABLE: configuration(
    "2010",
    "Cannot connect to the host:port.",
    "Hyperdrive could not route to the hostname: ensure it has a public DNS record that resolves to a public IP address. Check that the hostname is not misspelled.",
  ),
  HDK_CONFIG_CONNECTION_REFUSED: configuration(
    "2011",
    "Connection refused.",
    "A network firewall or access control list (ACL) is likely rejecting requests from Hyperdrive. Ensure you have allowed connections from the public Internet.",
  ),
  HDK_CONFIG_TLS_UNSUPPORTED: configuration(
    "2012",
    "TLS (SSL) not supported by the database.",
    "Hyperdrive requires TLS (SSL) to connect. Configure TLS on your database.",
  ),
  HDK_CONFIG_INVALID_CREDENTIALS: configuration(
    "2013",
    "Invalid database credentials.",
    "Ensure your username is correct (and exists), and the password is correct (case-sensitive).",
  ),
  HDK_CONFIG_DATABASE_NOT_FOUND: {
    ...configuration(
      "2014",
      "The specified database name does not exist.",
      "Check that the database (not table) name you provided exists on the database you are asking Hyperdrive to connect to.",
    ),
    fixOnMysql:
      "On MySQL, a user without global privileges gets the same refusal (1044, access denied to the database) for a database that exists but is not granted to it: then grant it (`GRANT ALL ON <database>.* TO <user>`).",
  },
  HDK_CONFIG_GENERIC: configuration(
    "2015",
    "Generic error.",
    "Hyperdrive failed to connect and could not determine a reason. Open a support ticket so Cloudflare can investigate.",
  ),
  HDK_CONFIG_TEST_QUERY_FAILED: configuration(
    "2016",
    "Test query failed.",
    "Confirm that the user Hyperdrive is connecting as has permissions to issue read and write queries to the given database.",
  ),
  HDK_CONFIG_CLIENT_CERT_REQUIRED: configuration(
    "Server return error and closed connection.",
    "This message occurs when you attempt to connect to a database that has client certificate verification enabled.",
    "Ensure you are configuring your Hyperdrive with client certificates (https://developers.cloudflare.com/hyperdrive/configuration/tls-ssl-certificates-for-hyperdrive/) if your database requires them.",
  ),
  HDK_CONFIG_CERT_VALIDATION_FAILED: configuration(
    "TLS handshake failed: cert validation failed.",
    "This message occurs when Hyperdrive has been configured with server CA certificates and is indicating that the certificate provided by the server has not been signed by the expected CA certificate.",
    "Ensure you are using the expected the correct CA certificate for Hyperdrive, or ensure you are connecting to the right database.",
  ),

  // Hyperdrive at run time (seed 000, "Hyperdrive specific errors"; SQLSTATE 58000 on the wire).
  HDK_HYPERDRIVE_INTERNAL: {
    category: "hyperdrive",
    message: "Internal error.",
    details: "Something is broken on our side.",
    fix: "Check for an ongoing incident affecting Hyperdrive, and contact Cloudflare Support (https://developers.cloudflare.com/support/contacting-cloudflare-support/). Retrying the query is appropriate, if it makes sense for your usage pattern.",
    docs: `${TROUBLESHOOTING}#hyperdrive-specific-errors`,
    retryable: true,
  },
  HDK_HYPERDRIVE_POOL_EXHAUSTED: {
    category: "hyperdrive",
    message: "Failed to acquire a connection from the pool.",
    details: "Hyperdrive timed out while waiting for a connection to your database, or cannot connect at all.",
    fix: "If you are seeing this error intermittently, your Hyperdrive pool is being exhausted because too many connections are being held open for too long by your worker. This can be caused by a myriad of different issues, but long-running queries/transactions are a common offender.",
    docs: `${TROUBLESHOOTING}#hyperdrive-specific-errors`,
    retryable: true,
  },
  HDK_HYPERDRIVE_ORIGIN_REFUSED: {
    category: "hyperdrive",
    message: "Server connection attempt failed: connection_refused",
    details: "Hyperdrive is unable to create new connections to your origin database.",
    fix: "A network firewall or access control list (ACL) is likely rejecting requests from Hyperdrive. Ensure you have allowed connections from the public Internet. Sometimes, this can be caused by your database host provider refusing incoming connections when you go over your connection limit.",
    docs: `${TROUBLESHOOTING}#hyperdrive-specific-errors`,
    retryable: true,
  },
  HDK_HYPERDRIVE_MYSQL_PREPARE_UNSUPPORTED: {
    category: "hyperdrive",
    message: "Hyperdrive does not currently support MySQL COM_STMT_PREPARE messages",
    details: "Hyperdrive does not support prepared statements for MySQL databases.",
    fix: "Remove prepared statements from your MySQL queries: use `query()` instead of `execute()` (the hyperdrive-kit mysql2 handle turns `execute()` into a client-side bound `query()`).",
    docs: `${TROUBLESHOOTING}#hyperdrive-specific-errors`,
    retryable: false,
    drivers: ["mysql2"],
  },
  HDK_HYPERDRIVE_UNSUPPORTED: {
    category: "hyperdrive",
    message: "Hyperdrive does not support …",
    details:
      "Hyperdrive refused a statement its transaction-mode pool cannot serve (session state: advisory locks, `LISTEN`, SQL `PREPARE`, `DISCARD`, MySQL's `USE`). Retrying gets the same refusal.",
    fix: "Do without it through Hyperdrive (`SELECT … FOR UPDATE` in a transaction instead of an advisory lock, your driver's prepared statements instead of SQL `PREPARE`), or reach the database directly for that work.",
    docs: "https://developers.cloudflare.com/hyperdrive/reference/supported-databases-and-features/",
    retryable: false,
  },
  HDK_HYPERDRIVE_ERROR: {
    category: "hyperdrive",
    message: "(any other SQLSTATE 58000 error)",
    details:
      "Hyperdrive reported an error that does not map to a PostgreSQL error code (SQLSTATE 58000) and is not one of its documented messages.",
    fix: "Read the original message in `cause`; check Hyperdrive's status and your configuration with `wrangler hyperdrive get <id>`.",
    docs: `${TROUBLESHOOTING}#connection-errors`,
    retryable: true,
  },

  // Node and driver errors (seed 000, "Node errors" and "Driver errors").
  HDK_NODEJS_COMPAT_MISSING: {
    category: "platform",
    message: 'Uncaught Error: No such module "node:<module>"',
    details:
      "Your Cloudflare Workers project or a library that it imports is trying to access a Node module that is not available.",
    fix: 'Enable Node.js compatibility (https://developers.cloudflare.com/workers/runtime-apis/nodejs/) for your Cloudflare Workers project to maximize compatibility: add `"compatibility_flags": ["nodejs_compat"]` to your Wrangler configuration (it is on by default from `"compatibility_date": "2026-08-04"` on, unless `no_nodejs_compat` turns it off).',
    docs: `${TROUBLESHOOTING}#node-errors`,
    retryable: false,
  },
  HDK_EVAL_DISALLOWED: {
    category: "platform",
    message: "Code generation from strings disallowed for this context",
    details:
      "The database driver you are using is attempting to use the `eval()` command, which is unsupported on Cloudflare Workers (common in `mysql2` driver).",
    fix: "Configure the database driver to not use `eval()`: mysql2 needs `disableEval: true` (the hyperdrive-kit mysql2 handle always sets it). See https://developers.cloudflare.com/hyperdrive/examples/connect-to-mysql/mysql-drivers-and-libraries/mysql2/.",
    docs: `${TROUBLESHOOTING}#driver-errors`,
    retryable: false,
  },
  HDK_PREPARE_FALSE_DEFEATS_CACHING: {
    category: "usage",
    message: "prepare: false",
    details:
      "Queries are not getting cached despite Hyperdrive having caching enabled: the Postgres.js driver is configured with `prepare: false`, which makes queries uncacheable by Hyperdrive.",
    fix: 'To resolve this, enable prepared statements with `prepare: true` (the default of the hyperdrive-kit Postgres.js handle). Pass `allowUnsafe: ["prepare"]` only if you accept uncached queries.',
    docs: `${TROUBLESHOOTING}#driver-errors`,
    retryable: false,
    drivers: ["postgres"],
  },

  // Workers runtime errors (seed 000, "Stale connection and I/O context errors").
  HDK_GLOBAL_SCOPE: {
    category: "platform",
    message:
      "Disallowed operation called within global scope. Asynchronous I/O (ex: fetch() or connect()), setting a timeout, and generating random values are not allowed within global scope.",
    details:
      "Your Worker is attempting to open a database connection or perform I/O during script startup, outside of a request handler.",
    fix: "Move the database client creation into your `fetch`, `queue`, or other handler function: call `withHyperdrive(env, ctx, …)` inside the handler.",
    docs: `${TROUBLESHOOTING}#workers-runtime-errors`,
    retryable: false,
  },
  HDK_CROSS_REQUEST_IO: {
    category: "platform",
    message:
      "Cannot perform I/O on behalf of a different request. I/O objects (such as streams, request/response bodies, and others) created in the context of one request handler cannot be accessed from a different request's handler.",
    details:
      'A database connection or client created during one request is being reused in a subsequent request. (Locally, with wrangler 4.164, raw Postgres.js and raw mysql2 clients reused this way throw this same error; with raw node-postgres and raw mysql the runtime cancels the request ("code had hung") within tens of milliseconds. The hyperdrive-kit handles fail before any I/O with `HDK_HANDLE_CROSS_REQUEST` or `HDK_HANDLE_AFTER_TEARDOWN`.)',
    fix: "Create a new database client on every request instead of caching it in a global variable. Hyperdrive's connection pooling already eliminates the connection startup overhead.",
    docs: `${TROUBLESHOOTING}#workers-runtime-errors`,
    retryable: false,
  },

  // node-postgres (seed 000, "node-postgres (pg) errors").
  HDK_PG_CONNECTION_TERMINATED: {
    category: "lifecycle",
    message: "Connection terminated",
    details:
      "The client's `.end()` method was called, or the connection was cleaned up at the end of a previous request.",
    fix: "Create a new `Client` inside your handler instead of reusing one from a prior request.",
    docs: `${TROUBLESHOOTING}#node-postgres-pg-errors`,
    retryable: true,
    drivers: ["pg"],
  },
  HDK_PG_CONNECTION_TERMINATED_UNEXPECTEDLY: {
    category: "connection",
    message: "Connection terminated unexpectedly",
    details:
      "The underlying connection was dropped without an explicit `.end()` call — for example, when a previous request's context was garbage collected.",
    fix: "Create a new `Client` inside your handler for every request.",
    docs: `${TROUBLESHOOTING}#node-postgres-pg-errors`,
    retryable: true,
    drivers: ["pg"],
    fixInRequest: DROPPED_IN_REQUEST,
  },
  HDK_PG_CLIENT_BROKEN: {
    category: "lifecycle",
    message: "Client has encountered a connection error and is not queryable",
    details: "A socket-level error occurred on the connection (common when reusing a client across requests).",
    fix: "Create a new `Client` inside your handler. Do not store clients in global variables.",
    docs: `${TROUBLESHOOTING}#node-postgres-pg-errors`,
    retryable: true,
    drivers: ["pg"],
    fixInRequest: BROKEN_IN_REQUEST,
  },
  HDK_PG_CLIENT_CLOSED: {
    category: "lifecycle",
    message: "Client was closed and is not queryable",
    details: "A query was attempted on a client whose `.end()` method was already called.",
    fix: "Create a new `Client` inside your handler instead of reusing one.",
    docs: `${TROUBLESHOOTING}#node-postgres-pg-errors`,
    retryable: false,
    drivers: ["pg"],
    fixInRequest: ENDED_IN_REQUEST,
  },
  HDK_PG_POOL_ENDED: {
    category: "lifecycle",
    message: "Cannot use a pool after calling end on the pool",
    details: "`pool.connect()` was called on a `Pool` instance that has already been ended.",
    fix: "Do not use `new Pool()` in the global scope. Create a `new Client()` inside your handler — Hyperdrive handles connection pooling for you.",
    docs: `${TROUBLESHOOTING}#node-postgres-pg-errors`,
    retryable: false,
    drivers: ["pg"],
    fixInRequest: ENDED_IN_REQUEST,
  },
  HDK_PG_CLIENT_REUSED: {
    category: "lifecycle",
    message: "Client has already been connected. You cannot reuse a client.",
    details: "`client.connect()` was called on a client that was already connected in a previous invocation.",
    fix: "Create a new `Client` per request. node-postgres clients cannot be reconnected once connected.",
    docs: `${TROUBLESHOOTING}#node-postgres-pg-errors`,
    retryable: false,
    drivers: ["pg"],
  },

  // Postgres.js (seed 000, "Postgres.js (postgres) errors").
  HDK_POSTGRES_CONNECTION_ENDED: {
    category: "lifecycle",
    message: "write CONNECTION_ENDED <host>:<port>",
    details:
      "A query was attempted after `sql.end()` was called, or the connection was cleaned up from a prior request. Error code: `CONNECTION_ENDED`.",
    fix: "Create a new `postgres()` instance inside your handler.",
    docs: `${TROUBLESHOOTING}#postgresjs-postgres-errors`,
    retryable: false,
    drivers: ["postgres"],
    fixInRequest: ENDED_IN_REQUEST,
  },
  HDK_POSTGRES_CONNECTION_DESTROYED: {
    category: "lifecycle",
    message: "write CONNECTION_DESTROYED <host>:<port>",
    details:
      "The connection was forcefully terminated — for example, during `sql.end({ timeout })` expiration, or because the connection was already terminated. Error code: `CONNECTION_DESTROYED`.",
    fix: "Create a new `postgres()` instance inside your handler for every request.",
    docs: `${TROUBLESHOOTING}#postgresjs-postgres-errors`,
    retryable: true,
    drivers: ["postgres"],
  },
  HDK_POSTGRES_CONNECTION_CLOSED: {
    category: "connection",
    message: "write CONNECTION_CLOSED <host>:<port>",
    details:
      "The underlying socket was closed unexpectedly while queries were still pending. Error code: `CONNECTION_CLOSED`.",
    fix: "Create a new `postgres()` instance inside your handler. If this occurs within a single request, check for network issues or query timeouts.",
    docs: `${TROUBLESHOOTING}#postgresjs-postgres-errors`,
    retryable: true,
    drivers: ["postgres"],
    fixInRequest: DROPPED_IN_REQUEST,
  },
  // Postgres.js 4's own errors about how it was used (not on the seed's page).
  HDK_POSTGRES_UNSAFE_TRANSACTION: {
    category: "usage",
    message: "UNSAFE_TRANSACTION: The transaction has ended",
    details:
      "Postgres.js 4 refused a query: a transaction's (or a reserved connection's) `sql` was used after its transaction ended or it was released, a cursor outlived its transaction, or `BEGIN` was sent through the handle's own `sql` instead of `sql.begin()`. Nothing was sent. Error code: `UNSAFE_TRANSACTION`.",
    fix: "Run a transaction's queries inside its `sql.begin(async (tx) => …)` callback and await them before it returns; start transactions with `sql.begin()` (or `sql.reserve()`), never with a plain `BEGIN`.",
    docs: README,
    retryable: false,
    drivers: ["postgres"],
  },
  HDK_POSTGRES_TRANSACTION_ROLLED_BACK: {
    category: "usage",
    message: "TRANSACTION_ROLLED_BACK: The server rolled back the transaction instead of committing it",
    details:
      "Postgres.js 4: the transaction did not commit. Either a query was made after `tx.rollback()` (it was not sent), or the server answered `COMMIT` with `ROLLBACK` (the transaction had already failed). A statement that failed inside `sql.begin()` is not this error: 4.x rejects `begin()` with that statement's own error even when the callback caught it. Error code: `TRANSACTION_ROLLED_BACK`.",
    fix: "Make no queries after `tx.rollback()`; to go on after a statement that may fail, run it in `tx.savepoint()`.",
    docs: README,
    retryable: false,
    drivers: ["postgres"],
  },
  HDK_POSTGRES_ARRAY_REMOVED: {
    category: "usage",
    message: "ARRAY_REMOVED: sql.array() is removed in v4, pass the array as it is",
    details: "`sql.array()` was called: Postgres.js 4 removed it. Error code: `ARRAY_REMOVED`.",
    fix: "Pass the array itself where `sql.array(…)` was: Postgres.js 4 sends it as a parameter whose type the server decides.",
    docs: README,
    retryable: false,
    drivers: ["postgres"],
  },

  // mysql2 (seed 000, "mysql2 errors").
  HDK_MYSQL2_CONNECTION_CLOSED: {
    category: "lifecycle",
    message: "Can't add new command when connection is in closed state",
    details: "A query was attempted on a connection that has already been closed or encountered a fatal error.",
    fix: "Create a new connection inside your handler instead of reusing one from global scope.",
    docs: `${TROUBLESHOOTING}#mysql2-errors`,
    retryable: true,
    drivers: ["mysql2"],
    fixInRequest: CLOSED_IN_REQUEST,
  },
  HDK_MYSQL_CONNECTION_LOST: {
    category: "connection",
    message: "Connection lost: The server closed the connection.",
    details:
      "The underlying socket was closed by the server or was garbage collected between requests. Error code: `PROTOCOL_CONNECTION_LOST`.",
    fix: "Create a new connection inside your handler for every request.",
    docs: `${TROUBLESHOOTING}#mysql2-errors`,
    retryable: true,
    drivers: ["mysql2", "mysql", "mariadb"],
    fixInRequest: DROPPED_IN_REQUEST,
  },
  HDK_MYSQL2_POOL_CLOSED: {
    category: "lifecycle",
    message: "Pool is closed.",
    details: "`pool.getConnection()` was called on a pool that has already been closed.",
    fix: "Do not use `createPool()` in the global scope. Create a new `createConnection()` inside your handler — Hyperdrive handles pooling for you.",
    docs: `${TROUBLESHOOTING}#mysql2-errors`,
    retryable: false,
    drivers: ["mysql2"],
  },

  // mysql (seed 000, "mysql errors").
  HDK_MYSQL_ENQUEUE_AFTER_FATAL: {
    category: "lifecycle",
    message: "Cannot enqueue Query after fatal error.",
    details:
      "A query was attempted on a connection that previously encountered a fatal error. Error code: `PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR`.",
    fix: "Create a new connection inside your handler instead of reusing one from global scope.",
    docs: `${TROUBLESHOOTING}#mysql-errors`,
    retryable: true,
    drivers: ["mysql"],
    fixInRequest: BROKEN_IN_REQUEST,
  },
  HDK_MYSQL_ENQUEUE_AFTER_QUIT: {
    category: "lifecycle",
    message: "Cannot enqueue Query after invoking quit.",
    details:
      "A query was attempted on a connection after `.end()` was called. Error code: `PROTOCOL_ENQUEUE_AFTER_QUIT`.",
    fix: "Create a new connection inside your handler for every request.",
    docs: `${TROUBLESHOOTING}#mysql-errors`,
    retryable: false,
    drivers: ["mysql"],
    fixInRequest: ENDED_IN_REQUEST,
  },
  HDK_MYSQL_HANDSHAKE_TWICE: {
    category: "lifecycle",
    message: "Cannot enqueue Handshake after already enqueuing a Handshake.",
    details:
      "`.connect()` was called on a connection that was already connected in a previous request. Error code: `PROTOCOL_ENQUEUE_HANDSHAKE_TWICE`.",
    fix: "Create a new connection per request. mysql connections cannot be reconnected once connected.",
    docs: `${TROUBLESHOOTING}#mysql-errors`,
    retryable: false,
    drivers: ["mysql"],
  },

  // Connection faults the seed does not list but every driver raises.
  HDK_CONNECT_REFUSED: {
    category: "connection",
    message: "connect ECONNREFUSED / Network connection lost",
    details: "The database (or Hyperdrive) refused or dropped the connection before it was established.",
    fix: "Check that the database is running and reachable. Locally, check the `localConnectionString` (or `CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_<BINDING>` in `.env`).",
    docs: `${TROUBLESHOOTING}#connection-errors`,
    retryable: true,
  },
  HDK_CONNECTION_LOST: {
    category: "connection",
    message: "Network connection lost / terminating connection due to administrator command (SQLSTATE 57P01)",
    details:
      "The connection dropped after it was established, while work ran on it: reset by the network or a proxy, or ended by the server (PostgreSQL's class 57: 57P01 admin shutdown, 57P02 crash shutdown, 57P05 idle session timeout; the SQLSTATE is kept in `sqlState`).",
    fix: "A query in flight may or may not have run: retry on a new handle (a new `withHyperdrive` call) only if the work is idempotent. The database may have restarted or failed over, the network path may have broken, or the backend was killed (`pg_terminate_backend`, `KILL`, an idle or statement timeout on the server); if it repeats, check the database's logs and status.",
    docs: `${TROUBLESHOOTING}#connection-errors`,
    retryable: true,
  },
  HDK_TIMEOUT: {
    category: "connection",
    message: "Timed out",
    details: "The database did not answer within the configured timeout.",
    fix: "Check the database's health and network path; keep queries and transactions short (Hyperdrive caps a query at 60 s) and raise the timeout only if the work really needs it.",
    docs: `${TROUBLESHOOTING}#connection-errors`,
    retryable: true,
  },

  // The library's own.
  HDK_BINDING_MISSING: {
    category: "usage",
    message: "No Hyperdrive binding found in env",
    details: "`env` has no Hyperdrive binding under the requested name.",
    fix: 'Add a `hyperdrive` entry to your Wrangler configuration (`{ "binding": "HYPERDRIVE", "id": "<id>", "localConnectionString": "<local database URL>" }`), or pass `{ binding: "NAME" }` naming one of the bindings listed in the message. The local URL is `postgres://user:password@localhost:5432/db` for PostgreSQL, `mysql://user:password@localhost:3306/db` for MySQL.',
    docs: `${README}`,
    retryable: false,
  },
  HDK_BINDING_INVALID: {
    category: "usage",
    message: "Not a Hyperdrive binding",
    details:
      "The value given as the binding is not a Hyperdrive binding (it lacks `connectionString`, `host`, `port`, `user`, `password` or `database`).",
    fix: "Pass the name of a `hyperdrive` binding from your Wrangler configuration, or the binding object itself (`env.HYPERDRIVE`).",
    docs: `${README}`,
    retryable: false,
  },
  HDK_BINDING_AMBIGUOUS: {
    category: "usage",
    message: "Several Hyperdrive bindings and none named HYPERDRIVE",
    details:
      "`env` holds more than one Hyperdrive binding and none is called `HYPERDRIVE`, so the handle cannot choose.",
    fix: 'Pass `{ binding: "NAME" }` naming one of the bindings listed in the message.',
    docs: `${README}`,
    retryable: false,
  },
  HDK_NO_EXECUTION_CONTEXT: {
    category: "usage",
    message: "No ExecutionContext",
    details:
      "`withHyperdrive` needs the handler's `ctx` (an object with `waitUntil`) to tie the handle to the request and to schedule its teardown.",
    fix: "Pass the handler's execution context: `ctx`, the third argument of `fetch(request, env, ctx)`, `scheduled(controller, env, ctx)` and `queue(batch, env, ctx)`; `this.ctx` in a Durable Object, a `WorkerEntrypoint` (RPC) or a `WorkflowEntrypoint` (not the Workflow's `step`, an RPC stub). Hono: `c.executionCtx`. In tests, use `createExecutionContext()` from `cloudflare:test`.",
    docs: `${README}`,
    retryable: false,
  },
  HDK_HANDLE_OUT_OF_SCOPE: {
    category: "usage",
    message: "Handle used outside its request scope",
    details:
      "This handle was used outside the `withHyperdrive` callback that created it: after the callback returned, from another request, or from code that runs outside the request (for example a handle kept in a global variable).",
    fix: NEW_CLIENT_PER_REQUEST,
    docs: LIFECYCLE,
    retryable: false,
  },
  HDK_HANDLE_OUTSIDE_ASYNC_CONTEXT: {
    category: "usage",
    message: "Handle used outside its callback's async context",
    details:
      "This handle was used while its `withHyperdrive` callback was still running, but from code that does not run in that callback's async context, so the handle cannot tell it from another request. Most often a Workflow `step.do` callback: the Workflows engine calls it back over RPC, and workerd runs that call in the same invocation but without the async context of `run()`. Also a function passed to an RPC method and called back, or another request using a handle kept in a global variable. Thrown with the name `NonRetryableError`, so Workflows fail the step at once instead of retrying it.",
    fix: 'Open the handle inside the step: `await step.do("name", () => withHyperdrive(this.env, this.ctx, async (db) => …))`, one handle per step with all its queries in that step (Cloudflare\'s Workflows guidance). Elsewhere, open it inside the callback that the runtime calls; never keep a handle in a global variable.',
    docs: `${README}#in-every-handler`,
    retryable: false,
  },
  HDK_HANDLE_CROSS_REQUEST: {
    category: "usage",
    message: "Handle reused by another request",
    details:
      'A handle created for one request was used while another request\'s scope was active. Workers forbid I/O across requests: in production a raw client reused this way fails with "Cannot perform I/O on behalf of a different request" (locally, raw Postgres.js and mysql2 throw the same, raw node-postgres and mysql are canceled by the runtime); the handle fails first, before any I/O. (A Durable Object is the exception: its requests share one I/O context, so a connection may outlive a request there, but a `withHyperdrive` handle still ends with its call; `objectHyperdrive(this.ctx, this.env)` is the handle that lives with the object.)',
    fix: NEW_CLIENT_PER_REQUEST,
    docs: LIFECYCLE,
    retryable: false,
  },
  HDK_HANDLE_AFTER_TEARDOWN: {
    category: "usage",
    message: "Handle used after its request ended",
    details:
      'This handle\'s request scope has ended: its work is over, and its connection was closed, is being closed, or (with `teardown: "none"`) was left for the runtime to drop when the invocation ends.',
    fix: "Finish all database work inside the `withHyperdrive` callback, in the returned response's body stream, or in work registered with the scope's `waitUntil`; do not keep the handle for later.",
    docs: LIFECYCLE,
    retryable: false,
  },
  HDK_UNSAFE_OPTION: {
    category: "usage",
    message: "Unsafe option",
    details: "An option known to break under Hyperdrive was passed.",
    fix: "Remove the option, or use the safe value the message names. Opt in with `allowUnsafe` only if you understand the consequence.",
    docs: `${README}`,
    retryable: false,
  },
  HDK_UNSAFE_BIND_VALUE: {
    category: "usage",
    message: "Unsafe bind value",
    details:
      "A query got a plain object (or a Map) as a bind value, and nothing was sent: the MySQL drivers turn such an object into `` `key` = value `` pairs (object injection), so an object from a request body can change what the query does. The message says what this driver does with it.",
    fix: 'Bind primitives, arrays of primitives, `Date` or `Buffer`; pick the fields you mean (`[body.email]`, not `[body]`); `JSON.stringify()` a value meant for a JSON column. For a deliberate `SET ?` with an object you built yourself, pass `allowUnsafe: ["objectValues"]`.',
    docs: `${README}`,
    retryable: false,
    drivers: ["mysql2", "mysql"],
  },
  HDK_INVALID_OPTION: {
    category: "usage",
    message: "Invalid option",
    details:
      "An option has a name nothing reads or a value it cannot use (for example a misspelt key, or a timeout that is not a positive number).",
    fix: "Pass a value of the documented type and range; the message names the option and what it got.",
    docs: `${README}#options`,
    retryable: false,
  },
  HDK_DRIVER_UNSUPPORTED: {
    category: "usage",
    message: "Unsupported driver version",
    details:
      "The installed driver is a version this adapter does not support (the message names what was found and the supported range): it was not used, and nothing was sent.",
    fix: "Install a driver version in the adapter's peer range (`npm ls <driver>` shows what is installed; npm only warns about a peer range it cannot meet), or an adapter version that supports yours.",
    docs: `${README}`,
    retryable: false,
  },
  HDK_TEARDOWN_TIMEOUT: {
    category: "lifecycle",
    message: "Teardown timed out",
    details:
      "Teardown ran out of `teardownTimeoutMs`: closing the client did not finish in time (known driver bugs: pg `Client.end()` hangs when the socket never connected, Postgres.js `sql.end()` hangs), or a query still in flight when the request's work ended was cut by the close.",
    fix: 'Nothing to do for correctness: the Workers runtime closes the socket when the invocation ends. Set `teardown: "none"` to skip explicit closing, or raise `teardownTimeoutMs`.',
    docs: LIFECYCLE,
    retryable: false,
  },
  HDK_TEARDOWN_FAILED: {
    category: "lifecycle",
    message: "Teardown failed",
    details:
      "Closing the client raised an error. It was swallowed (never an unhandled rejection) and reported to `onEvent`.",
    fix: "Nothing to do for correctness: the Workers runtime closes the socket when the invocation ends. Report the `cause` if it repeats.",
    docs: LIFECYCLE,
    retryable: false,
  },
} as const satisfies Record<string, CatalogEntry>;

export type HyperdriveErrorCode = keyof typeof catalog;

export const errorCodes: readonly HyperdriveErrorCode[] = Object.keys(catalog) as HyperdriveErrorCode[];

/**
 * An entry's fix for a driver: the general fix, with the MySQL-only advice unless the driver is a PostgreSQL one
 * (included when the driver is not known).
 */
export function fixFor(entry: CatalogEntry, driver: DriverName | undefined): string {
  return entry.fixOnMysql === undefined || driver === "pg" || driver === "postgres"
    ? entry.fix
    : `${entry.fix} ${entry.fixOnMysql}`;
}
