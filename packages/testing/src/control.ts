/**
 * The fault controls, over HTTP on 127.0.0.1, so tests running inside workerd can stop the database, switch the
 * proxy's fault and change what the fake Hyperdrive origin answers. The Node side of `fault-client.ts`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { FakeOrigin, FakeOriginOptions } from "./fake-origin/index.ts";
import type { FaultMode, FaultProxy } from "./proxy/index.ts";
import type { RunningServer } from "./servers/index.ts";

export interface Controlled {
  server: RunningServer;
  /** The proxy in front of the database (the VIA_PROXY binding). */
  proxy: FaultProxy;
  /** The fake Hyperdrive origin (the FAKE_ORIGIN binding). */
  origin: FakeOrigin;
}

export interface ControlServer {
  url: string;
  close(): Promise<void>;
}

type Handler = (body: unknown) => Promise<unknown> | unknown;

export async function startControlServer({ server, proxy, origin }: Controlled): Promise<ControlServer> {
  const routes: Record<string, Handler> = {
    "POST /server/halt": () => server.halt(),
    "POST /server/resume": () => server.resume(),
    "POST /proxy/mode": (body) => {
      const { mode, resetAll } = body as { mode: FaultMode; resetAll?: boolean };
      proxy.setMode(mode, { resetAll });
    },
    "POST /proxy/stall": () => proxy.stallAll(),
    "GET /proxy": () => ({ connections: proxy.connections, ...proxy.stats }),
    "POST /origin": (body) => origin.configure(body as FakeOriginOptions),
  };

  const http = createServer(async (request: IncomingMessage, response: ServerResponse) => {
    const handler = routes[`${request.method} ${new URL(request.url ?? "/", "http://control").pathname}`];
    if (!handler) return void response.writeHead(404).end();
    try {
      let text = "";
      for await (const chunk of request) text += chunk;
      const result = await handler(text ? JSON.parse(text) : undefined);
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(result ?? null));
    } catch (error) {
      response.writeHead(500).end(error instanceof Error ? error.message : String(error));
    }
  });
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(0, "127.0.0.1", () => resolve());
  });
  const address = http.address();
  if (!address || typeof address !== "object") throw new Error("fault control: no listening address");
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      }),
  };
}
