/**
 * One pooled connection to the MySQL origin, on mysql2's client: it does the handshake and authentication (only the
 * plugins Hyperdrive supports) and reads results as text, which the simulator writes back to its client.
 */
import mysql from "mysql2";
import type { PooledConnection } from "../pool.ts";

export interface MysqlOriginOptions {
  connectionString: string;
  connectTimeoutMs: number;
  latencyMs: number;
}

/** A column definition as mysql2 reads it and its server side writes it. */
export type Field = Record<string, unknown>;

export type MysqlResult =
  | { kind: "rows"; fields: Field[]; rows: Array<Array<string | null>> }
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

export class MysqlOrigin implements PooledConnection {
  private readonly connection: mysql.Connection;
  private readonly latencyMs: number;
  private closed = false;

  private constructor(connection: mysql.Connection, latencyMs: number) {
    this.connection = connection;
    this.latencyMs = latencyMs;
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
      // Every value as the text the server sent, to be sent on as text.
      typeCast: (field) => field.string(),
      authPlugins: {
        sha256_password: refusePlugin("sha256_password"),
        mysql_clear_password: refusePlugin("mysql_clear_password"),
      },
    });
    connection.on("error", () => {});
    await new Promise<void>((resolve, reject) => connection.connect((error) => (error ? reject(error) : resolve())));
    return new MysqlOrigin(connection, options.latencyMs);
  }

  get alive(): boolean {
    return !this.closed;
  }

  async query(sql: string): Promise<MysqlResult> {
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    return new Promise((resolve, reject) => {
      this.connection.query(sql, (error, result, fields) => {
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

  destroy(): void {
    this.closed = true;
    this.connection.destroy();
  }
}
