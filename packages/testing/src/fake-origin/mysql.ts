import { Server as NetServer, type Socket } from "node:net";
import { createServer } from "mysql2";
import { type FakeOrigin, type FakeOriginOptions, HYPERDRIVE_POOL_ERROR } from "./postgres.ts";

/** What Hyperdrive answers to the binary protocol: MySQL drivers must use text queries through it. */
export const HYPERDRIVE_PREPARE_ERROR = "Hyperdrive does not currently support MySQL COM_STMT_PREPARE messages";

const ER_UNKNOWN_ERROR = 1105;
const SQLSTATE = "HY000";

const Command = {
  Query: 0x03,
  StmtPrepare: 0x16,
  StmtExecute: 0x17,
  StmtSendLongData: 0x18,
  StmtClose: 0x19,
  ResetConnection: 0x1f,
} as const;

// What a MySQL 8 server offers, minus TLS and compression: the fake speaks plain text only.
const CAPABILITIES =
  0x00000001 | // LONG_PASSWORD
  0x00000002 | // FOUND_ROWS
  0x00000004 | // LONG_FLAG
  0x00000008 | // CONNECT_WITH_DB
  0x00000200 | // PROTOCOL_41
  0x00002000 | // TRANSACTIONS
  0x00008000 | // SECURE_CONNECTION
  0x00010000 | // MULTI_STATEMENTS
  0x00020000 | // MULTI_RESULTS
  0x00040000 | // PS_MULTI_RESULTS
  0x00080000 | // PLUGIN_AUTH
  0x00100000 | // CONNECT_ATTRS
  0x00200000; // PLUGIN_AUTH_LENENC_CLIENT_DATA

/**
 * An ERR packet with a real SQLSTATE. mysql2's own `writeError()` always sends the placeholder "#_____";
 * `writePacket()` only needs `length()`, `writeHeader(sequenceId)` and `buffer` (lib/base/connection.js).
 */
function errorPacket(message: string) {
  const body = Buffer.concat([
    Buffer.from([0xff, ER_UNKNOWN_ERROR & 0xff, ER_UNKNOWN_ERROR >> 8]),
    Buffer.from(`#${SQLSTATE}`, "ascii"),
    Buffer.from(message, "utf8"),
  ]);
  const buffer = Buffer.concat([Buffer.alloc(4), body]);
  return {
    _name: "Error",
    buffer,
    length: () => buffer.length,
    writeHeader(sequenceId: number) {
      buffer.writeUIntLE(body.length, 0, 3);
      buffer.writeUInt8(sequenceId & 0xff, 3);
    },
  };
}

/**
 * A MySQL origin that behaves like Hyperdrive in front of an unreachable database, on mysql2's server
 * implementation: accepts any user and password, then answers every COM_QUERY with an error (1105, HY000) and
 * every COM_STMT_PREPARE with Hyperdrive's "not supported" error. The connection stays usable.
 */
export async function startFakeMysqlOrigin(initial: FakeOriginOptions = {}): Promise<FakeOrigin> {
  let options = initial;
  let nextConnectionId = 1;

  const server = createServer((connection) => {
    connection.on("error", () => {});
    const { error: message = HYPERDRIVE_POOL_ERROR, failAt } = options; // fixed for this connection
    const answer = (known: boolean, command: unknown) => {
      switch (command) {
        case Command.Query:
          return connection.writePacket(errorPacket(message));
        case Command.StmtPrepare:
        case Command.StmtExecute:
          return connection.writePacket(errorPacket(HYPERDRIVE_PREPARE_ERROR));
        case Command.StmtSendLongData:
        case Command.StmtClose:
          return; // the protocol defines no response
        case Command.ResetConnection:
          return connection.writeOk();
        default:
          // mysql2 already answered what it knows (ping, init_db, quit, field_list).
          if (!known) connection.writePacket(errorPacket(message));
      }
    };
    // Listeners for these events stop mysql2 from answering them itself (it also routes COM_QUERY "SET …" to
    // "stmt_prepare"); the "packet" event carries the real command byte, so answer there.
    for (const event of ["query", "stmt_prepare", "stmt_execute"]) connection.on(event, () => {});
    connection.on("packet", (_packet: unknown, known: unknown, command: unknown) => {
      answer(known === true, command);
      // mysql2's server side never ends its handshake "command", so it never restarts the sequence for the next
      // command: without this, replies carry ever-growing sequence ids, which strict clients (`mysql`) reject.
      connection.sequenceId = 0;
    });
    connection.serverHandshake({
      protocolVersion: 10,
      serverVersion: "8.0.36-hyperdrive-kit-fake-origin",
      connectionId: nextConnectionId++,
      statusFlags: 0x0002, // SERVER_STATUS_AUTOCOMMIT
      characterSet: 45, // utf8mb4_general_ci
      capabilityFlags: CAPABILITIES,
      // Any user and password will do.
      authCallback: (_params: unknown, done: (error: null) => void) => {
        if (failAt === "startup") {
          connection.writePacket(errorPacket(message));
          connection.end();
          return;
        }
        done(null); // writes the OK packet
        connection.sequenceId = 0;
      },
    });
  });

  // mysql2's Server wraps a net.Server but types only `listen(port)`; bind the inner one to loopback directly.
  const inner: unknown = Reflect.get(server, "_server");
  if (!(inner instanceof NetServer)) throw new Error("fake MySQL origin: mysql2's Server has no inner net.Server");
  const sockets = new Set<Socket>();
  inner.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  inner.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    inner.once("error", reject);
    inner.listen(0, "127.0.0.1", () => {
      inner.off("error", reject);
      resolve();
    });
  });
  const address = inner.address();
  if (!address || typeof address !== "object") throw new Error("fake MySQL origin: no listening address");
  return {
    port: address.port,
    configure(next) {
      options = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        inner.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}
