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
          // A CancelRequest: Hyperdrive does not forward them (nor does the simulator).
          if (data.length === 16 && Buffer.from(data).readInt32BE(4) === CANCEL_REQUEST_CODE) {
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
    super(socket, options);
    this.parametersSource = gateway.parameters;
  }

  private parametersSource: () => Record<string, string> = () => ({});

  override async completeAuthentication(): Promise<void> {
    this.isAuthenticated = true;
    this.sendAuthenticationOk();
    for (const [name, value] of Object.entries(this.parametersSource())) this.sendParameterStatus(name, value);
    this.sendReadyForQuery("idle");
  }
}
