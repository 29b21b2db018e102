import { once } from "node:events";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { afterEach, expect, it } from "vitest";
import { type FaultProxy, resetSocket, startFaultProxy } from "../src/proxy/fault-proxy.ts";

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** An upstream that answers `hello` and then ends its side, as a database does on a clean close. */
async function upstream(onSocket: (socket: Socket) => void): Promise<Server> {
  const server = createServer((socket) => {
    socket.on("error", () => {});
    onSocket(socket);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  cleanup.push(() => new Promise((resolve) => server.close(resolve)));
  return server;
}

async function proxyTo(server: Server, mode?: Parameters<typeof startFaultProxy>[0]["mode"]): Promise<FaultProxy> {
  const address = server.address() as { port: number };
  const proxy = await startFaultProxy({ target: { host: "127.0.0.1", port: address.port }, mode });
  cleanup.push(() => proxy.close());
  return proxy;
}

async function client(proxy: FaultProxy): Promise<Socket> {
  const socket = createConnection({ host: "127.0.0.1", port: proxy.port });
  socket.on("error", () => {});
  cleanup.push(() => socket.destroy());
  // Connected, or already reset (a refusing proxy may RST before 'connect' is seen).
  await new Promise((resolve) => {
    socket.once("connect", resolve);
    socket.once("close", resolve);
  });
  return socket;
}

/** 'close', whatever error came before it (a reset socket emits ECONNRESET first). */
const closed = (socket: Socket) => new Promise<void>((resolve) => socket.once("close", () => resolve()));

/** Polls until `done`, bounded by a deadline, not a count of ticks: timers run late on a busy machine. */
async function until(done: () => boolean, maxMs = 20_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

async function untilNoConnections(proxy: FaultProxy): Promise<number> {
  await until(() => proxy.connections === 0);
  return proxy.connections;
}

it("forwards both ways and counts the connection until it closes", async () => {
  const server = await upstream((socket) => socket.on("data", (d) => socket.write(`echo:${d}`)));
  const proxy = await proxyTo(server);
  const socket = await client(proxy);
  socket.write("ping");
  const [answer] = await once(socket, "data");
  expect(String(answer)).toBe("echo:ping");
  expect(proxy.connections).toBe(1);
  socket.end();
  expect(await untilNoConnections(proxy)).toBe(0);
});

it("closes a socket reset right after its end(), while the shutdown is pending (libuv refuses that RST)", async () => {
  const server = await upstream(() => {});
  const socket = createConnection(server.address() as { port: number });
  socket.on("error", () => {});
  cleanup.push(() => socket.destroy());
  await once(socket, "connect");
  const done = closed(socket);
  socket.end();
  resetSocket(socket);
  // Without 'close' this times out: the handle was never closed.
  await done;
  expect(socket.destroyed).toBe(true);
});

it("closes a connection reset while its client is not reading and data is still queued", async () => {
  // A delay long enough for the proxy to read the whole answer and the FIN before it writes any of it.
  const size = 16 * 1024 * 1024;
  const server = await upstream((socket) => socket.end(Buffer.alloc(size)));
  const proxy = await proxyTo(server, { kind: "delay", ms: 200 });
  const socket = await client(proxy);
  socket.pause();
  await until(() => proxy.stats.bytesToClient >= size);
  expect(proxy.stats.bytesToClient).toBe(size);
  expect(proxy.connections).toBe(1);
  proxy.resetAll();
  expect(await untilNoConnections(proxy)).toBe(0);
});

it("resets after the byte budget and refuses when told to", async () => {
  const server = await upstream((socket) => socket.write("0123456789"));
  const proxy = await proxyTo(server, { kind: "reset-after", bytes: 4 });
  const socket = await client(proxy);
  const done = closed(socket);
  let received = "";
  socket.on("data", (d) => {
    received += d;
  });
  await done;
  expect(received).toBe("0123");
  proxy.setMode({ kind: "refuse" });
  const refused = await client(proxy);
  if (!refused.closed) await closed(refused);
  expect(await untilNoConnections(proxy)).toBe(0);
  expect(proxy.stats.accepted).toBe(2);
});

it("counts round trips: a server burst after client data, or first on the connection", async () => {
  // Speaks first (as MySQL's greeting does), then answers each message in two writes: one flight each.
  const server = await upstream((socket) => {
    socket.write("hello");
    socket.on("data", () => {
      socket.write("a");
      setTimeout(() => socket.write("b"), 5);
    });
  });
  const proxy = await proxyTo(server);
  const socket = await client(proxy);
  const received = (bytes: number) => until(() => proxy.stats.bytesToClient >= bytes);
  await received(5);
  for (let i = 1; i <= 3; i++) {
    socket.write("q");
    await received(5 + 2 * i);
  }
  expect(proxy.stats.roundTrips).toBe(4);
});
