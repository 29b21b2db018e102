/** Bounded socket I/O for the preflight: every wait has a timeout, every failure a kind the checks can name. */
import { connect as netConnect, type Socket } from "node:net";
import { type TLSSocket, connect as tlsConnect } from "node:tls";

export type IoFailure =
  | "timeout" // nothing within the bound
  | "refused" // ECONNREFUSED
  | "unreachable" // EHOSTUNREACH, ENETUNREACH
  | "reset" // ECONNRESET, EPIPE
  | "closed" // the peer closed before answering
  | "other";

export class IoError extends Error {
  override readonly name = "IoError";
  readonly kind: IoFailure;
  readonly code: string | undefined;

  constructor(kind: IoFailure, message: string, code?: string) {
    super(message);
    this.kind = kind;
    this.code = code;
  }
}

export function ioFailure(error: unknown): IoError {
  if (error instanceof IoError) return error;
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  switch (code) {
    case "ECONNREFUSED":
      return new IoError("refused", message, code);
    case "EHOSTUNREACH":
    case "ENETUNREACH":
    case "EHOSTDOWN":
      return new IoError("unreachable", message, code);
    case "ETIMEDOUT":
      return new IoError("timeout", message, code);
    case "ECONNRESET":
    case "EPIPE":
      return new IoError("reset", message, code);
    default:
      return new IoError("other", message, code);
  }
}

/** Runs `work` with a bound; `onTimeout` releases whatever it holds. */
export async function bounded<T>(work: Promise<T>, ms: number, what: string, onTimeout?: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(new IoError("timeout", `${what}: no answer within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function tcpConnect(host: string, port: number, timeoutMs: number): Promise<Socket> {
  const socket = netConnect({ host, port });
  const opened = new Promise<Socket>((resolve, reject) => {
    socket.once("connect", () => {
      socket.removeAllListeners("error");
      resolve(socket);
    });
    socket.once("error", (error) => reject(ioFailure(error)));
  });
  return bounded(opened, timeoutMs, `TCP connect to ${host}:${port}`, () => socket.destroy());
}

export interface TlsOptions {
  servername?: string;
  ca?: string;
  cert?: string;
  key?: string;
  /** Verify the chain against `ca` (or the system store). */
  verifyChain: boolean;
  /** Also verify that the certificate names the host. */
  verifyHost: boolean;
}

/** Upgrades a connected socket to TLS; rejects with the handshake's own error (its `code` names the cause). */
export function tlsUpgrade(socket: Socket, options: TlsOptions, timeoutMs: number): Promise<TLSSocket> {
  const secure = tlsConnect({
    socket,
    ...(options.servername ? { servername: options.servername } : {}),
    ...(options.ca ? { ca: options.ca } : {}),
    ...(options.cert ? { cert: options.cert } : {}),
    ...(options.key ? { key: options.key } : {}),
    rejectUnauthorized: options.verifyChain,
    ...(options.verifyHost ? {} : { checkServerIdentity: () => undefined }),
  });
  const ready = new Promise<TLSSocket>((resolve, reject) => {
    secure.once("secureConnect", () => {
      secure.removeAllListeners("error");
      resolve(secure);
    });
    secure.once("error", reject);
    secure.once("close", () =>
      reject(new IoError("closed", "the server closed the connection during the TLS handshake")),
    );
  });
  return bounded(ready, timeoutMs, "TLS handshake", () => secure.destroy());
}

/** Reads exact byte counts from a socket, each read bounded. */
export class Reader {
  private buffer: Buffer = Buffer.alloc(0);
  private failure: IoError | undefined;
  private wake: (() => void) | undefined;
  private readonly onData = (chunk: Buffer) => {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    this.wake?.();
  };
  private readonly onError = (error: Error) => {
    this.failure ??= ioFailure(error);
    this.wake?.();
  };
  private readonly onClose = () => {
    this.failure ??= new IoError("closed", "the server closed the connection");
    this.wake?.();
  };

  private readonly socket: Socket;

  constructor(socket: Socket) {
    this.socket = socket;
    socket.on("data", this.onData);
    socket.on("error", this.onError);
    socket.on("close", this.onClose);
  }

  async read(length: number, timeoutMs: number, what: string): Promise<Buffer> {
    const filled = async () => {
      while (this.buffer.length < length) {
        if (this.failure) throw this.failure;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = undefined;
      }
    };
    await bounded(filled(), timeoutMs, what, () => this.wake?.());
    const out = this.buffer.subarray(0, length);
    this.buffer = this.buffer.subarray(length);
    return out;
  }

  /** Stops reading (before a TLS upgrade); returns bytes received beyond what was read. */
  detach(): Buffer {
    this.socket.off("data", this.onData);
    this.socket.off("error", this.onError);
    this.socket.off("close", this.onClose);
    this.socket.pause();
    return this.buffer;
  }
}

/** Node's codes for a server certificate that does not verify. */
const CERT_ERRORS = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_SIGNATURE_FAILURE",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "INVALID_CA",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

export type TlsFailure = "certificate" | "client-certificate" | "other";

export function tlsFailure(error: unknown): TlsFailure {
  const code = (error as { code?: string }).code ?? "";
  if (CERT_ERRORS.has(code)) return "certificate";
  // The server's alert when it wants a certificate we did not send (TLS 1.3) or refused the one we sent.
  if (/CERTIFICATE_REQUIRED|ALERT_BAD_CERTIFICATE|ALERT_UNKNOWN_CA|ALERT_CERTIFICATE_UNKNOWN/.test(code)) {
    return "client-certificate";
  }
  return "other";
}

export const elapsed = (since: number) => Math.round(performance.now() - since);
