/**
 * One MySQL client connection in transaction mode, on mysql2's server side: each command runs on a pooled origin
 * connection held for a transaction or the one statement; cacheable reads come from the cache; what Hyperdrive
 * refuses is refused. Commands are strictly one at a time, as the protocol has them.
 */
import type { CacheStatus, QueryCache } from "../cache.ts";
import type { SimulatorContext } from "../context.ts";
import { isDdl } from "../functions.ts";
import { OriginConnectError, PoolTimeoutError } from "../pool.ts";
import { lex, type Statement } from "../sql.ts";
import { mysqlVolatility } from "./functions.ts";
import type { MysqlOrigin, MysqlResult } from "./origin.ts";
import {
  type ColumnDefinition,
  Command,
  columnCountPacket,
  columnPacket,
  errorPacket,
  ServerStatus,
  textRowPacket,
} from "./packets.ts";
import { HYPERDRIVE_PREPARE_ERROR, MYSQL_REFUSAL_MESSAGES, mysqlRefusal } from "./refusals.ts";

/** What the session uses of mysql2's server-side Connection (lib/base/connection.js). */
export interface ServerConnection {
  sequenceId: number;
  writePacket(packet: unknown): void;
  writeOk(args?: {
    affectedRows?: number;
    insertId?: number;
    serverStatus?: number;
    warningCount?: number;
    message?: string;
  }): void;
  writeEof(warnings?: number, statusFlags?: number): void;
  end(): void;
}

type CachedRows = Extract<MysqlResult, { kind: "rows" }>;

export interface MysqlSessionContext extends SimulatorContext<MysqlOrigin, ReturnType<typeof errorPacket>> {
  cache: QueryCache<CachedRows> | undefined;
}

export class MysqlSession {
  private readonly connection: ServerConnection;
  private readonly context: MysqlSessionContext;
  private server: MysqlOrigin | undefined;
  private inTransaction = false;
  private closed = false;

  constructor(connection: ServerConnection, context: MysqlSessionContext) {
    this.connection = connection;
    this.context = context;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    // A statement still running: stop it first, so that the reset (which rolls back an open transaction) is not
    // left waiting behind it. The kill cannot land on anything else: the connection is this client's until then.
    if (server.busy) {
      server.kill().then(
        () => this.context.pool.release(server),
        () => this.context.pool.release(server, { broken: true }),
      );
      return;
    }
    this.context.pool.release(server);
  }

  /** One command from the client; `sql` is its text, for COM_QUERY. Answers exactly once (or not, where none is due). */
  async command(command: number, known: boolean, sql: string | undefined, nonUtf8 = false): Promise<void> {
    switch (command) {
      case Command.Query:
        if (nonUtf8) return this.refuse(sql ?? "", "non-utf8");
        return this.query(sql ?? "");
      case Command.InitDb:
        return this.refuse("", "init-db");
      case Command.StmtPrepare:
      case Command.StmtExecute:
      case Command.StmtReset:
        this.write(errorPacket(HYPERDRIVE_PREPARE_ERROR));
        this.context.report({ text: sql ?? "", cache: "notaquery", refused: "prepare", durationMs: 0, failed: true });
        return;
      case Command.StmtSendLongData:
      case Command.StmtClose:
        return; // the protocol defines no answer
      case Command.ResetConnection:
        this.inTransaction = false;
        this.releaseServer();
        this.connection.writeOk({ serverStatus: ServerStatus.Autocommit });
        return;
      case Command.Quit:
        this.close();
        this.connection.end();
        return;
      default:
        // mysql2 answered what it knows itself (ping, field list).
        if (!known)
          this.write(errorPacket(`Hyperdrive does not support this MySQL command (0x${command.toString(16)})`));
    }
  }

  private async query(sql: string): Promise<void> {
    const statements = lex(sql, "mysql");
    const refusal = mysqlRefusal(statements);
    if (refusal) return this.refuse(sql, refusal);
    const started = performance.now();
    const status = this.cacheStatus(sql, statements);
    if (status === undefined && !this.server) return this.cached(sql, started);
    if (!(await this.hold())) return;
    const server = this.server as MysqlOrigin;
    let result: MysqlResult;
    try {
      result = await server.query(sql);
      if (statements.some(({ words }) => isDdl(words))) this.context.functions.forget();
    } catch (error) {
      this.writeOriginError(error);
      this.report(sql, status ?? "uncacheable", started, true);
      // A connection that died took its transaction with it.
      if (!server.alive) this.inTransaction = false;
      if (!this.inTransaction) this.releaseServer();
      return;
    }
    if (result.kind === "ok") this.inTransaction = (result.serverStatus & ServerStatus.InTransaction) !== 0;
    this.writeResult(result);
    this.report(sql, status ?? "uncacheable", started, false);
    if (!this.inTransaction) this.releaseServer();
  }

  /** A cacheable read: from the cache, or from a pooled connection of its own, then cached. */
  private async cached(sql: string, started: number): Promise<void> {
    const cache = this.context.cache;
    const found = cache?.lookup(sql);
    if (found) {
      this.writeResult(found.value);
      this.report(sql, "hit", started, false, found.stale ? "stale" : undefined);
      if (found.revalidate && cache) {
        this.fetch(sql).then(
          (result) => {
            if (result.kind === "rows" && !this.context.functions.volatile(sql)) cache.store(sql, result, size(result));
            else cache.revalidationFailed(sql);
          },
          () => cache.revalidationFailed(sql),
        );
      }
      return;
    }
    let result: MysqlResult;
    try {
      result = await this.fetch(sql);
    } catch (error) {
      this.writeOriginError(error);
      this.report(sql, "miss", started, true);
      return;
    }
    // A stored function first seen in this read turned out not deterministic: answered, not stored.
    if (this.context.functions.volatile(sql)) {
      this.writeResult(result);
      this.report(sql, "volatile", started, false);
      return;
    }
    const stored = result.kind === "rows" && (cache?.store(sql, result, size(result)) ?? false);
    this.writeResult(result);
    this.report(sql, stored ? "miss" : "oversizedresult", started, false);
  }

  /** A cacheable read on a pooled connection of its own, then the lookups of function names not known yet. */
  private async fetch(sql: string): Promise<MysqlResult> {
    const server = await this.context.pool.acquire();
    try {
      const result = await server.query(sql);
      const names = this.context.functions.unknown(sql);
      if (names.length > 0) this.context.functions.learn(await mysqlVolatility(server, names));
      this.context.pool.release(server);
      return result;
    } catch (error) {
      this.context.pool.release(server, { broken: !server.alive });
      throw error;
    }
  }

  private cacheStatus(sql: string, statements: Statement[]): CacheStatus | undefined {
    if (!this.context.cache) return "disabled";
    if (statements.length === 0) return "notaquery";
    if (this.inTransaction) return "transaction";
    if (!this.context.isReadOnly(statements[0] as Statement)) return "uncacheable";
    if (this.context.functions.volatile(sql)) return "volatile";
    return undefined;
  }

  private async hold(): Promise<boolean> {
    if (this.server) return true;
    try {
      this.server = await this.context.pool.acquire();
    } catch (error) {
      this.write(this.context.acquireError(error));
      return false;
    }
    if (this.closed) {
      this.releaseServer();
      return false;
    }
    return true;
  }

  private releaseServer(): void {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.context.pool.release(server);
  }

  private refuse(sql: string, refusal: keyof typeof MYSQL_REFUSAL_MESSAGES): void {
    this.write(errorPacket(this.context.messages.refused[refusal] ?? MYSQL_REFUSAL_MESSAGES[refusal]));
    this.context.report({ text: sql, cache: "uncacheable", refused: refusal, durationMs: 0, failed: true });
  }

  private writeResult(result: MysqlResult): void {
    const serverStatus = ServerStatus.Autocommit | (this.inTransaction ? ServerStatus.InTransaction : 0);
    if (result.kind === "ok") {
      this.connection.writeOk({
        affectedRows: result.affectedRows,
        insertId: result.insertId,
        serverStatus,
        warningCount: result.warningCount,
        message: result.info,
      });
      return;
    }
    this.connection.writePacket(columnCountPacket(result.fields.length));
    for (const field of result.fields) this.connection.writePacket(columnPacket(field as unknown as ColumnDefinition));
    this.connection.writeEof();
    for (const row of result.rows) this.connection.writePacket(textRowPacket(row));
    this.connection.writeEof(0, serverStatus);
  }

  /**
   * The database's own errors pass through with their code. Anything else happened to the origin connection while
   * the statement ran (it was lost, or the driver gave up): say so, not "Server connection attempt failed".
   */
  private writeOriginError(error: unknown): void {
    const { errno, sqlState, message, code } = (error ?? {}) as {
      errno?: unknown;
      sqlState?: unknown;
      message?: unknown;
      code?: unknown;
    };
    if (typeof errno === "number" && typeof sqlState === "string") {
      this.write(errorPacket(String(message), errno, sqlState));
      return;
    }
    if (error instanceof PoolTimeoutError || error instanceof OriginConnectError) {
      this.write(this.context.acquireError(error));
      return;
    }
    const reason = typeof code === "string" ? code.toLowerCase() : "connection_lost";
    this.write(errorPacket(`Server connection lost while the statement ran: ${reason}`));
  }

  private write(packet: unknown): void {
    if (!this.closed) this.connection.writePacket(packet);
  }

  private report(text: string, cache: CacheStatus, started: number, failed: boolean, note?: string): void {
    this.context.report({ text, cache, durationMs: performance.now() - started, failed, ...(note ? { note } : {}) });
  }
}

function size({ rows }: CachedRows): number {
  let bytes = 0;
  for (const row of rows) for (const value of row) bytes += value === null ? 1 : value.length + 1;
  return bytes;
}
