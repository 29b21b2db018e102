/**
 * One pooled connection to the MySQL origin, on mysql2's client: it does the handshake and authentication (only the
 * plugins Hyperdrive supports) and reads each value as the bytes the server sent, which the simulator writes back to
 * its client unchanged.
 */
import mysql from "mysql2";
import type { PooledConnection } from "../pool.ts";

export interface MysqlOriginOptions {
  connectionString: string;
  connectTimeoutMs: number;
  latencyMs: number;
  /** Hyperdrive's maximum statement duration (0: none): past it the statement is killed and fails. */
  statementTimeoutMs: number;
}

/** A column definition as mysql2 reads it and its server side writes it. */
export type Field = Record<string, unknown>;

export type MysqlResult =
  | { kind: "rows"; fields: Field[]; rows: Array<Array<Buffer | null>> }
  | { kind: "ok"; affectedRows: number; insertId: number; serverStatus: number; warningCount: number; info: string };

/** Hyperdrive authenticates to MySQL with caching_sha2_password or mysql_native_password only. */
export class UnsupportedAuthPluginError extends Error {
  override name = "UnsupportedAuthPluginError";
}
export const unsupportedPlugin = (plugin: string) =>
  `the origin asked for the ${plugin} authentication plugin; Hyperdrive supports caching_sha2_password and mysql_native_password`;
const refusePlugin = (plugin: string) => () => () => {
  throw new UnsupportedAuthPluginError(unsupportedPlugin(plugin));
};

/** A statement that ran past the limit and was killed: the error the origin's own statement limit gives. */
export function statementTimeoutError(mariadb: boolean) {
  return mariadb
    ? { errno: 1969, sqlState: "70100", message: "Query execution was interrupted (max_statement_time exceeded)" }
    : {
        errno: 3024,
        sqlState: "HY000",
        message: "Query execution was interrupted, maximum statement execution time exceeded",
      };
}

/** After a KILL QUERY, how long the origin may take to stop before the connection is closed instead. */
const KILL_GRACE_MS = 5_000;

export class MysqlOrigin implements PooledConnection {
  private readonly connection: mysql.Connection;
  private readonly options: MysqlOriginOptions;
  private closed = false;
  /** A statement is running on this connection now. */
  busy = false;

  private constructor(connection: mysql.Connection, options: MysqlOriginOptions) {
    this.connection = connection;
    this.options = options;
    connection.on("error", () => {
      this.closed = true;
    });
    connection.on("end", () => {
      this.closed = true;
    });
  }

  static async connect(options: MysqlOriginOptions): Promise<MysqlOrigin> {
    const connection = mysql.createConnection({
      uri: options.connectionString,
      connectTimeout: options.connectTimeoutMs,
      multipleStatements: false,
      rowsAsArray: true,
      charset: "utf8mb4",
      // Every value as the bytes the server sent (text protocol), to be sent on byte for byte: BLOBs, other
      // character sets and JSON alike.
      typeCast: (field) => field.buffer(),
      authPlugins: {
        sha256_password: refusePlugin("sha256_password"),
        mysql_clear_password: refusePlugin("mysql_clear_password"),
      },
    });
    connection.on("error", () => {});
    await new Promise<void>((resolve, reject) => connection.connect((error) => (error ? reject(error) : resolve())));
    return new MysqlOrigin(connection, options);
  }

  private get mariadb(): boolean {
    return (this.connection as unknown as { _isMariaDB?: boolean })._isMariaDB === true;
  }

  get alive(): boolean {
    return !this.closed;
  }

  async query(sql: string): Promise<MysqlResult> {
    const { latencyMs, statementTimeoutMs } = this.options;
    if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
    this.busy = true;
    return new Promise((resolve, reject) => {
      let killed: Promise<void> | undefined;
      let grace: ReturnType<typeof setTimeout> | undefined;
      const limit =
        statementTimeoutMs > 0
          ? setTimeout(() => {
              killed = this.kill();
              grace = setTimeout(() => this.destroy(), KILL_GRACE_MS);
            }, statementTimeoutMs)
          : undefined;
      this.connection.query(sql, (error, result, fields) => {
        this.busy = false;
        clearTimeout(limit);
        clearTimeout(grace);
        // Killed for the limit: whatever the origin answered (an interruption error, or SLEEP()'s 1), it failed.
        // Answer once the KILL itself is done, so that it cannot land on the next statement on this connection.
        if (killed) {
          killed.then(() => reject(statementTimeoutError(this.mariadb)));
          return;
        }
        if (error) return reject(error);
        if (Array.isArray(result)) {
          resolve({ kind: "rows", fields: (fields ?? []) as unknown as Field[], rows: result as never });
          return;
        }
        const header = result as mysql.ResultSetHeader;
        resolve({
          kind: "ok",
          affectedRows: header.affectedRows,
          insertId: header.insertId,
          serverStatus: header.serverStatus ?? 0,
          warningCount: header.warningStatus ?? 0,
          info: header.info ?? "",
        });
      });
    });
  }

  /** COM_RESET_CONNECTION: session variables, temporary tables, locks and transactions go. */
  reset(): Promise<void> {
    return new Promise((resolve, reject) =>
      (this.connection as unknown as { reset(cb: (error: Error | null) => void): void }).reset((error) =>
        error ? reject(error) : resolve(),
      ),
    );
  }

  /**
   * KILL QUERY for what this connection runs now, from a connection of its own: the statement stops, the connection
   * stays usable. Nothing happens if it already finished.
   */
  kill(): Promise<void> {
    const { threadId } = this.connection;
    const killer = mysql.createConnection({
      uri: this.options.connectionString,
      connectTimeout: this.options.connectTimeoutMs,
      authPlugins: {
        sha256_password: refusePlugin("sha256_password"),
        mysql_clear_password: refusePlugin("mysql_clear_password"),
      },
    });
    killer.on("error", () => {});
    return new Promise((resolve) => {
      killer.query(`KILL QUERY ${Number(threadId)}`, () => {
        killer.destroy();
        resolve();
      });
    });
  }

  destroy(): void {
    this.closed = true;
    this.connection.destroy();
  }
}
