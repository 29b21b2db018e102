import { createConnection, createServer, type Socket } from "node:net";

export type FaultMode =
  /** Forward both ways untouched. */
  | { kind: "pass" }
  /** Hold every chunk, each way, for `ms` before forwarding it. */
  | { kind: "delay"; ms: number }
  /** Accept, never connect upstream, never answer; the socket stays open until the client or close() ends it. */
  | { kind: "blackhole" }
  /** Forward until `bytes` server→client bytes have passed on a connection, then TCP RST both sides. */
  | { kind: "reset-after"; bytes: number }
  /** Accept, then TCP RST at once. */
  | { kind: "refuse" };

export interface FaultProxyStats {
  /** Client connections accepted since the proxy started. */
  accepted: number;
  bytesToServer: number;
  bytesToClient: number;
  /**
   * Round trips: bursts of server→client data that follow client→server data (or a connection's start, for a
   * server that speaks first). Counted on arrival, before any delay.
   */
  roundTrips: number;
}

export interface FaultProxy {
  /** Listens on 127.0.0.1. */
  port: number;
  /** Applies to connections accepted from now on; `resetAll` also RSTs the current ones. */
  setMode(mode: FaultMode, options?: { resetAll?: boolean }): void;
  /** TCP RST on every open connection, both sides. */
  resetAll(): void;
  /** The open connections stop forwarding, both ways, and stay open: a database that stops answering mid-life. */
  stallAll(): void;
  /** Currently open client connections. */
  readonly connections: number;
  /** A snapshot of the counters. */
  readonly stats: FaultProxyStats;
  close(): Promise<void>;
}

/**
 * RST, not FIN: what a crashed origin or a middlebox dropping state looks like to the driver.
 *
 * libuv refuses an RST once a shutdown (end()) is under way: resetAndDestroy() then fails with EINVAL and Node never
 * closes the handle, so 'close' never comes (the proxy would count the connection open forever) and Node spins in
 * Environment::CleanupHandles at exit. Those, and sockets still connecting, get a plain destroy.
 */
export function resetSocket(socket: Socket | undefined): void {
  if (!socket || socket.destroyed) return;
  if (socket.connecting || socket.pending || socket.writableEnded) socket.destroy();
  else socket.resetAndDestroy();
}

/** A TCP proxy in front of a database, for fault injection: latency, hangs, resets and refusals on demand. */
export async function startFaultProxy(options: {
  target: { host: string; port: number };
  mode?: FaultMode;
}): Promise<FaultProxy> {
  let mode: FaultMode = options.mode ?? { kind: "pass" };
  const stats: FaultProxyStats = { accepted: 0, bytesToServer: 0, bytesToClient: 0, roundTrips: 0 };
  const open = new Map<Socket, Socket | undefined>();
  const stalled = new WeakSet<Socket>();

  const server = createServer((client) => {
    stats.accepted++;
    const current = mode; // fixed for this connection's life
    client.on("error", () => {});
    open.set(client, undefined);
    client.once("close", () => open.delete(client));
    if (current.kind === "refuse") return resetSocket(client);
    if (current.kind === "blackhole") {
      client.resume(); // read and drop, so the client's writes never block
      return;
    }

    // No Nagle: a driver's message split over several writes must not wait for the server's delayed ACK.
    client.setNoDelay(true);
    const upstream = createConnection({ host: options.target.host, port: options.target.port, noDelay: true });
    open.set(client, upstream);
    upstream.on("error", () => resetSocket(client));
    client.on("error", () => resetSocket(upstream));
    const delay = current.kind === "delay" ? current.ms : 0;
    let budget = current.kind === "reset-after" ? current.bytes : Number.POSITIVE_INFINITY;
    const later = (fn: () => void) => (delay > 0 ? setTimeout(fn, delay) : fn());
    let serverSpokeLast = false;

    const forward = (from: Socket, to: Socket, toClient: boolean) => {
      from.on("data", (chunk: Buffer) => {
        if (stalled.has(client)) return; // dropped: the peer waits for an answer that never comes
        if (toClient && !serverSpokeLast) stats.roundTrips++;
        serverSpokeLast = toClient;
        let data = chunk;
        let cut = false;
        if (toClient && data.length >= budget) {
          data = data.subarray(0, budget);
          cut = true;
        }
        if (toClient) budget -= data.length;
        later(() => {
          if (to.destroyed) return;
          if (toClient) stats.bytesToClient += data.length;
          else stats.bytesToServer += data.length;
          if (cut) {
            // Let the allowed bytes reach the peer first: an RST right behind unread data is reported by
            // Linux clients as a plain EOF, or discards the data; a few ms later it reads as ECONNRESET.
            to.write(data, () =>
              setTimeout(() => {
                resetSocket(client);
                resetSocket(upstream);
              }, 10),
            );
            return;
          }
          if (!to.write(data)) {
            from.pause();
            to.once("drain", () => from.resume());
          }
        });
      });
      // Half-close in order, after any data still held back by a delay; a side that vanished without a FIN
      // (reset, destroyed) takes the other side with it.
      from.once("end", () =>
        later(() => {
          if (!to.destroyed) to.end();
        }),
      );
      from.once("close", () =>
        later(() => {
          if (!to.writableEnded) to.destroy();
        }),
      );
    };
    forward(client, upstream, false);
    forward(upstream, client, true);
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
  if (!address || typeof address !== "object") throw new Error("fault proxy: no listening address");

  const resetAll = () => {
    for (const [client, upstream] of open) {
      resetSocket(client);
      resetSocket(upstream);
    }
  };
  return {
    port: address.port,
    setMode(next, opts) {
      mode = next;
      if (opts?.resetAll) resetAll();
    },
    resetAll,
    stallAll() {
      for (const client of open.keys()) stalled.add(client);
    },
    get connections() {
      return open.size;
    },
    get stats() {
      return { ...stats };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const [client, upstream] of open) {
          client.destroy();
          upstream?.destroy();
        }
      }),
  };
}
