/**
 * The client side of the PostgreSQL simulator on pg-gateway: startup, SSLRequest ("N": the local binding speaks
 * plain TCP) and cleartext password authentication; after that every message goes to the session.
 */
import type { Socket } from "node:net";
import { PostgresConnection, type PostgresConnectionOptions } from "pg-gateway";

/**
 * pg-gateway 0.2.4 mis-frames a chunk that holds several messages (it slices `subarray(offset, length)`, not
 * `subarray(offset, offset + length)`), and drivers send Parse/Bind/Describe/Execute/Sync in one write. So frame
 * the stream here and hand pg-gateway one whole message at a time, in order.
 */
export class FramedConnection extends PostgresConnection {
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

const CANCEL_REQUEST_CODE = 80877102;

export interface GatewayOptions {
  password: string;
  /** The user and database the binding logs in with. */
  login: { user: string; database: string };
  /** This client's BackendKeyData: process id and secret key, 8 bytes. */
  key: Buffer;
  /** A CancelRequest arrived with this key. */
  onCancel(key: Buffer): void;
  /** ParameterStatus values sent after authentication (the origin's). */
  parameters(): Record<string, string>;
  /** Every message after authentication. */
  onMessage(message: Buffer): void;
}

/** A client connection: authenticates, sends the origin's parameters, then hands each message on. */
export class GatewayConnection extends FramedConnection {
  constructor(socket: Socket, gateway: GatewayOptions) {
    const options: PostgresConnectionOptions = {
      authMode: "cleartextPassword",
      validateCredentials: (credentials) => "password" in credentials && credentials.password === gateway.password,
      onMessage: (data, state) => {
        if (!state.hasStarted) {
          // A CancelRequest, on a connection of its own: forwarded to what that client runs on the origin.
          if (data.length === 16 && Buffer.from(data).readInt32BE(4) === CANCEL_REQUEST_CODE) {
            gateway.onCancel(Buffer.from(data).subarray(8, 16));
            socket.end();
            return true;
          }
          return false;
        }
        if (!state.isAuthenticated) return false;
        gateway.onMessage(Buffer.from(data));
        return true;
      },
    };
    super(socket, {
      ...options,
      onStartup: (state) => {
        const parameters: Record<string, string | undefined> = state.clientInfo?.parameters ?? {};
        const { user } = parameters;
        const database = parameters.database ?? user;
        const refusal =
          user !== gateway.login.user
            ? { code: "28P01", message: `password authentication failed for user "${user}"` }
            : database !== gateway.login.database
              ? { code: "3D000", message: `database "${database}" does not exist` }
              : undefined;
        if (!refusal) return false;
        // The binding's credentials name the origin's user and database: another is a login Hyperdrive refuses.
        this.sendError({ severity: "FATAL", ...refusal });
        socket.end();
        return true;
      },
    });
    this.parametersSource = gateway.parameters;
    this.key = gateway.key;
  }

  private parametersSource: () => Record<string, string> = () => ({});
  private key: Buffer = Buffer.alloc(8);

  override async completeAuthentication(): Promise<void> {
    this.isAuthenticated = true;
    this.sendAuthenticationOk();
    this.sendData(Buffer.concat([Buffer.from([0x4b, 0, 0, 0, 12]), this.key])); // BackendKeyData
    for (const [name, value] of Object.entries(this.parametersSource())) this.sendParameterStatus(name, value);
    this.sendReadyForQuery("idle");
  }
}
