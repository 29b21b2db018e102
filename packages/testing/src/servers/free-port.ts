import { connect, createServer } from "node:net";

/** Asks the OS for a free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === "object") resolve(address.port);
        else reject(new Error("could not allocate a free port"));
      });
    });
  });
}

// Privileged ports: the OS never hands one out for listen(0), and the test servers run unprivileged, so none of
// them can come to listen there later. A port from freePort() can: another package's server, started a moment
// after, was given the same number, and the "database that refuses connections" answered with a password error.
const REFUSING_CANDIDATES = [1, 3, 5, 9, 11, 13, 17, 19, 39, 41, 47, 51, 61, 71, 83, 95];

/**
 * A TCP port on 127.0.0.1 that refuses connections now and that no test server can be given later: an origin that
 * is down. Checked with a real connection attempt.
 */
export async function refusedPort(): Promise<number> {
  for (const port of REFUSING_CANDIDATES) if (await refuses(port)) return port;
  throw new Error(
    `refusedPort: something listens on every candidate port (${REFUSING_CANDIDATES.join(", ")}) on 127.0.0.1`,
  );
}

function refuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.setTimeout(2000);
    const done = (refused: boolean) => {
      socket.destroy();
      resolve(refused);
    };
    socket.once("connect", () => done(false));
    socket.once("timeout", () => done(false));
    socket.once("error", (error: NodeJS.ErrnoException) => done(error.code === "ECONNREFUSED"));
  });
}
