import { createServer, type Socket } from "node:net";
import { PostgresConnection } from "pg-gateway";

/** What Hyperdrive answers when it cannot reach the origin database. */
export const HYPERDRIVE_POOL_ERROR = "Failed to acquire a connection from the pool.";

export interface FakeOriginOptions {
  /** The error message; defaults to Hyperdrive's pool error. */
  error?: string;
  /**
   * "query" (default): log in fine, then fail every query but keep the connection usable.
   * "startup": fail the connection itself right after authentication.
   */
  failAt?: "query" | "startup";
  /**
   * The SQLSTATE of the error; defaults to Hyperdrive's 58000 (e.g. 53300, too many connections, at startup). A class
   * 57 code (57P01 admin shutdown, 57P03 cannot connect now…) is sent as PostgreSQL sends it: FATAL, and the
   * connection closed.
   */
  code?: string;
}

export interface FakeOrigin {
  /** Listens on 127.0.0.1. */
  port: number;
  /** Changes what the origin answers, for connections and queries from now on. */
  configure(options: FakeOriginOptions): void;
  close(): Promise<void>;
}

// SQLSTATE class 58, system_error: trouble outside the database itself, not a bad query.
const SQLSTATE = "58000";
const CANCEL_REQUEST_CODE = 80877102;

/** Frontend message type bytes. */
const Message = {
  Query: 0x51, // Q
  Parse: 0x50, // P
  Bind: 0x42, // B
  Describe: 0x44, // D
  Execute: 0x45, // E
  Close: 0x43, // C
  FunctionCall: 0x46, // F
  Sync: 0x53, // S
  Terminate: 0x58, // X
  Password: 0x70, // p
} as const;

/**
 * pg-gateway 0.2.4 mis-frames a chunk that holds several messages (it slices `subarray(offset, length)`, not
 * `subarray(offset, offset + length)`), and drivers send Parse/Bind/Describe/Execute/Sync in one write. So frame
 * the stream here and hand pg-gateway one whole message at a time, in order.
 */
class FramedConnection extends PostgresConnection {
  private pending: Buffer = Buffer.alloc(0);
  private queue: Promise<void> = Promise.resolve();

  override handleData(data: Buffer): Promise<void> {
    this.pending = Buffer.concat([this.pending, data]);
    this.queue = this.queue.then(() => this.drain()).catch(() => void this.socket.destroy());
    return this.queue;
  }

  private async drain(): Promise<void> {
    while (true) {
      // The startup packet has no type byte; every later message starts with one.
      const typeLength = this.hasStarted ? 1 : 0;
      if (this.pending.length < typeLength + 4) return;
      const size = typeLength + this.pending.readUInt32BE(typeLength);
      if (this.pending.length < size) return;
      const message = this.pending.subarray(0, size);
      this.pending = this.pending.subarray(size);
      await this.handleMessage(message);
    }
  }
}

/**
 * A PostgreSQL origin that behaves like Hyperdrive in front of an unreachable database: accepts any user and
 * password (cleartext, no TLS), then answers every query, simple or extended protocol, with an ErrorResponse
 * (ERROR, SQLSTATE 58000) followed by ReadyForQuery.
 */
export async function startFakePostgresOrigin(initial: FakeOriginOptions = {}): Promise<FakeOrigin> {
  let options = initial;
  const sockets = new Set<Socket>();

  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    // In the extended protocol, after an error the backend skips messages until Sync, then sends ReadyForQuery.
    let skippingToSync = false;
    const { error: message = HYPERDRIVE_POOL_ERROR, failAt, code = SQLSTATE } = options; // fixed for this connection
    const fatal = code.startsWith("57");
    const connection: FramedConnection = new FramedConnection(socket, {
      serverVersion: "16.0 (hyperdrive-kit fake origin)",
      authMode: "cleartextPassword",
      validateCredentials: () => true,
      onMessage(data, state) {
        if (!state.hasStarted) {
          // A CancelRequest: nothing is ever running, so there is nothing to cancel.
          if (data.length === 16 && Buffer.from(data).readInt32BE(4) === CANCEL_REQUEST_CODE) {
            socket.end();
            return true;
          }
          return false; // SSLRequest (answered "N") and StartupMessage: pg-gateway's own handling
        }
        const type = data[0];
        if (!state.isAuthenticated) {
          if (failAt === "startup" && type === Message.Password) {
            connection.sendAuthenticationOk();
            connection.sendError({ severity: "FATAL", code, message });
            socket.end();
            return true;
          }
          return false;
        }
        switch (type) {
          case Message.Query:
            if (fatal) {
              connection.sendError({ severity: "FATAL", code, message });
              socket.end();
              break;
            }
            connection.sendError({ severity: "ERROR", code, message });
            connection.sendReadyForQuery("idle");
            break;
          case Message.Parse:
          case Message.Bind:
          case Message.Describe:
          case Message.Execute:
          case Message.Close:
          case Message.FunctionCall:
            if (fatal) {
              connection.sendError({ severity: "FATAL", code, message });
              socket.end();
              break;
            }
            if (!skippingToSync) connection.sendError({ severity: "ERROR", code, message });
            skippingToSync = true;
            break;
          case Message.Sync:
            skippingToSync = false;
            connection.sendReadyForQuery("idle");
            break;
          case Message.Terminate:
            socket.end();
            break;
          // Flush and COPY messages: nothing to do, every answer is written immediately.
        }
        return true;
      },
    });
  });
  server.on("error", () => {});

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  if (!address || typeof address !== "object") throw new Error("fake PostgreSQL origin: no listening address");
  return {
    port: address.port,
    configure(next) {
      options = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}
