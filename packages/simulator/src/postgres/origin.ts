/**
 * One pooled connection to the PostgreSQL origin. node-postgres opens it (TCP, TLS, every authentication method),
 * then the simulator takes over its socket and speaks the protocol message by message.
 */
import type { Duplex } from "node:stream";
import pg from "pg";
import type { PooledConnection } from "../pool.ts";
import { Backend, Framer, type ParseMessage, readyStatus, serialize } from "./messages.ts";

/** `DISCARD ALL` without `DEALLOCATE ALL`: session state goes, the statements the simulator prepared stay. */
const RESET_SQL =
  "CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; UNLISTEN *; SELECT pg_advisory_unlock_all(); DISCARD PLANS; DISCARD TEMP; DISCARD SEQUENCES";

export type MessageHandler = (type: number, message: Buffer) => void;

export interface OriginMetadata {
  /** ParameterStatus values the origin sent at startup, forwarded to clients. */
  parameters: Record<string, string>;
}

export interface OriginConnectOptions {
  connectionString: string;
  connectTimeoutMs: number;
  /** Added before each message batch from the origin is handled: the Worker-to-database distance. */
  latencyMs: number;
  /** Hyperdrive's maximum statement duration, as the origin's own `statement_timeout` (0: none). */
  statementTimeoutMs: number;
}

export class PostgresOrigin implements PooledConnection {
  /** Server-side names of the statements prepared on this connection. */
  readonly prepared = new Set<string>();
  /** The client statement this connection's unnamed statement holds now. */
  unnamed: ParseMessage | undefined;
  private handler: MessageHandler | undefined;
  private closed = false;
  private readonly framer = new Framer();

  private readonly client: pg.Client;
  private readonly stream: Duplex;
  private readonly config: pg.ClientConfig;

  private constructor(client: pg.Client, stream: Duplex, latencyMs: number, config: pg.ClientConfig) {
    this.client = client;
    this.config = config;
    this.stream = stream;
    stream.removeAllListeners("data");
    stream.on("data", (chunk: Buffer) => {
      if (latencyMs > 0) setTimeout(() => this.receive(chunk), latencyMs);
      else this.receive(chunk);
    });
    stream.once("close", () => {
      this.closed = true;
      this.handler?.(-1, Buffer.alloc(0));
    });
  }

  static async connect(options: OriginConnectOptions, metadata?: (m: OriginMetadata) => void) {
    const config: pg.ClientConfig = {
      connectionString: options.connectionString,
      connectionTimeoutMillis: options.connectTimeoutMs,
      application_name: "hyperdrive-kit-simulator",
    };
    // A startup parameter, not a SET: the reset's RESET ALL brings it back after a client changed it.
    const client = new pg.Client(
      options.statementTimeoutMs > 0 ? { ...config, statement_timeout: options.statementTimeoutMs } : config,
    );
    client.on("error", () => {}); // the stream's own close handler reports the loss
    const parameters: Record<string, string> = {};
    const connection = Reflect.get(client, "connection") as {
      stream: Duplex;
      on(event: "parameterStatus", listener: (m: { parameterName: string; parameterValue: string }) => void): void;
    };
    connection.on("parameterStatus", (m) => {
      parameters[m.parameterName] = m.parameterValue;
    });
    await client.connect();
    metadata?.({ parameters });
    return new PostgresOrigin(client, connection.stream, options.latencyMs, config);
  }

  get alive(): boolean {
    return !this.closed;
  }

  /** Routes the origin's messages to the session holding this connection; type -1 means the origin went away. */
  attach(handler: MessageHandler | undefined): void {
    this.handler = handler;
  }

  write(message: Buffer): void {
    if (!this.closed) this.stream.write(message);
  }

  /** Runs a simple query and resolves with every message up to ReadyForQuery. */
  run(message: Buffer): Promise<Buffer[]> {
    return new Promise((resolve, reject) => {
      const messages: Buffer[] = [];
      this.attach((type, body) => {
        if (type === -1) return reject(new Error("the origin closed the connection"));
        messages.push(body);
        if (type === Backend.ReadyForQuery) {
          this.attach(undefined);
          resolve(messages);
        }
      });
      this.write(message);
    });
  }

  async reset(): Promise<void> {
    const messages = await this.run(serialize.query(RESET_SQL));
    const last = messages.at(-1);
    if (!last || readyStatus(last) !== "I" || messages.some((m) => m[0] === Backend.Error)) {
      throw new Error("the reset failed");
    }
  }

  /**
   * Sends the origin a CancelRequest for whatever this connection runs now, on a connection of its own (pg's cancel
   * path: TLS as configured). The statement then fails with 57014; nothing happens if it already finished.
   */
  cancel(): void {
    const { processID, secretKey } = this.client as unknown as { processID: number; secretKey: number };
    const helper = new pg.Client(this.config);
    helper.on("error", () => {});
    const query = {};
    // pg cancels the query a client runs: present this connection's key as that client's.
    (helper as unknown as { cancel(client: unknown, query: unknown): void }).cancel(
      { activeQuery: query, processID, secretKey },
      query,
    );
    const connection = Reflect.get(helper, "connection") as { stream: Duplex };
    // The origin closes a cancel connection itself; this only bounds one it never answers.
    setTimeout(() => connection.stream.destroy(), 5_000).unref();
  }

  destroy(): void {
    this.closed = true;
    this.attach(undefined);
    this.stream.destroy();
    this.client.end().catch(() => {});
  }

  private receive(chunk: Buffer): void {
    for (const message of this.framer.push(chunk)) this.handler?.(message[0] as number, message);
  }
}
