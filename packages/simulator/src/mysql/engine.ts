/** The MySQL side of the simulator: its pool, cache and per-socket sessions on mysql2's server implementation. */
import type { Socket } from "node:net";
import mysql from "mysql2";
import { QueryCache } from "../cache.ts";
import type { Engine, EngineConfig } from "../engine.ts";
import { FunctionCatalogue } from "../functions.ts";
import { Pool } from "../pool.ts";
import { mysqlAcquireError } from "./errors.ts";
import { MYSQL_FUNCTION_RULES } from "./functions.ts";
import { MysqlOrigin, type MysqlResult } from "./origin.ts";
import { Command, errorPacket, ServerStatus, verifyNativePassword } from "./packets.ts";

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

import { MYSQL_REFUSAL_MESSAGES } from "./refusals.ts";
import { MysqlSession, type ServerConnection } from "./session.ts";

// What a MySQL 8 server offers, minus TLS and compression: the binding speaks plain TCP locally.
const CAPABILITIES =
  0x00000001 | // LONG_PASSWORD
  0x00000002 | // FOUND_ROWS
  0x00000004 | // LONG_FLAG
  0x00000008 | // CONNECT_WITH_DB
  0x00000200 | // PROTOCOL_41
  0x00002000 | // TRANSACTIONS
  0x00008000 | // SECURE_CONNECTION
  0x00010000 | // MULTI_STATEMENTS (a client may ask; the simulator refuses the statements, as Hyperdrive)
  0x00020000 | // MULTI_RESULTS
  0x00080000 | // PLUGIN_AUTH
  0x00100000 | // CONNECT_ATTRS
  0x00200000; // PLUGIN_AUTH_LENENC_CLIENT_DATA

type ServerSide = ServerConnection & {
  on(event: string, listener: (...args: unknown[]) => void): void;
  serverHandshake(args: Record<string, unknown>): void;
};

export function mysqlEngine(config: EngineConfig): Engine {
  const pool = new Pool<MysqlOrigin>({ ...config.pool, connect: () => MysqlOrigin.connect(config.connect) });
  const cache = config.cache ? new QueryCache<Extract<MysqlResult, { kind: "rows" }>>(config.cache) : undefined;
  const context = {
    ...config.shared,
    pool,
    cache,
    messages: { refused: { ...MYSQL_REFUSAL_MESSAGES, ...config.refused } },
    functions: new FunctionCatalogue(MYSQL_FUNCTION_RULES),
    acquireError: mysqlAcquireError,
  };
  let nextConnectionId = 1;
  return {
    pool,
    clearCache: () => cache?.clear(),
    cacheStats: () => cache?.stats ?? { entries: 0, bytes: 0 },
    accept(socket: Socket) {
      const { Connection, ConnectionConfig } = mysql as unknown as {
        Connection: new (options: { config: unknown }) => ServerSide;
        ConnectionConfig: new (options: { stream: Socket; isServer: true }) => unknown;
      };
      const connection = new Connection({ config: new ConnectionConfig({ stream: socket, isServer: true }) });
      connection.on("error", () => {});
      const session = new MysqlSession(connection, context);
      socket.once("close", () => session.close());
      // mysql2 decodes the statement for these events (and routes COM_QUERY "SET …"/"PREPARE …" to stmt_prepare);
      // listening stops it answering them itself. The "packet" event that follows has the real command byte.
      let text: string | undefined;
      connection.on("query", (sql) => {
        text = String(sql);
      });
      connection.on("stmt_prepare", (sql) => {
        text = String(sql);
      });
      connection.on("stmt_execute", (...args) => {
        text = typeof args[4] === "string" ? args[4] : undefined;
      });
      connection.on("init_db", () => {});
      let queue = Promise.resolve();
      connection.on("packet", (packet, known, command) => {
        let sql = text;
        text = undefined;
        let nonUtf8 = false;
        if (command === Command.Query) {
          // The query's own bytes, not mysql2's decoding in the client's declared character set: Hyperdrive
          // refuses query text that is not valid UTF-8, and takes valid UTF-8 (U+FFFD included) as it is.
          const { buffer, start, end } = packet as { buffer: Buffer; start: number; end: number };
          try {
            sql = strictUtf8.decode(buffer.subarray(start + 5, end));
          } catch {
            nonUtf8 = true;
          }
        }
        queue = queue
          .then(() => session.command(command as number, known === true, sql, nonUtf8))
          .catch((error: unknown) => {
            config.shared.log(`internal error: ${error instanceof Error ? error.message : String(error)}`);
            connection.writePacket(errorPacket("Hyperdrive encountered an internal error"));
          })
          .finally(() => {
            // mysql2's server side never ends its handshake "command", so it never restarts the sequence for the
            // next command: without this, replies carry ever-growing sequence ids, which `mysql` rejects.
            connection.sequenceId = 0;
          });
      });
      connection.serverHandshake({
        protocolVersion: 10,
        serverVersion: "8.0.36-hyperdrive-kit-simulator",
        connectionId: nextConnectionId++,
        statusFlags: ServerStatus.Autocommit,
        characterSet: 45, // utf8mb4_general_ci
        capabilityFlags: CAPABILITIES,
        authCallback: (
          params: {
            user?: string;
            database?: string;
            authPluginData1: Buffer;
            authPluginData2: Buffer;
            authToken: Buffer;
          },
          done: (error: null, mysqlError?: { message: string; code: number }) => void,
        ) => {
          const scramble = Buffer.concat([params.authPluginData1, params.authPluginData2]);
          // The binding's credentials name the origin's user and database: another is a login Hyperdrive refuses.
          if (params.user !== config.login.user || !verifyNativePassword(scramble, params.authToken, config.password)) {
            done(null, { message: `Access denied for user '${params.user ?? ""}' (using password: YES)`, code: 1045 });
          } else if ((params.database || config.login.database) !== config.login.database) {
            done(null, { message: `Unknown database '${params.database}'`, code: 1049 });
          } else {
            done(null);
            connection.sequenceId = 0;
          }
        },
      });
    },
  };
}
