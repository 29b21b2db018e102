/**
 * A real PostgreSQL and simulators in front of it, one per simulated Hyperdrive configuration, plus an HTTP control
 * so the tests inside workerd can read what the simulators saw (each statement's cache status) and clear caches.
 */
import { createServer } from "node:http";
import { startPostgres } from "@hyperdrive-kit/testing/servers";
import type { TestProject } from "vitest/node";
import { type QueryEvent, type Simulator, startSimulator } from "../../src/index.ts";

import { LATENCY_MS, type SimulatorName, SMALL } from "./config.ts";

declare module "vitest" {
  export interface ProvidedContext {
    hyperdrives: Record<SimulatorName | "ADMIN", string>;
    simulatorControl: string;
  }
}

export default async function setup(project: TestProject) {
  const server = await startPostgres();
  const events: Array<QueryEvent & { simulator: SimulatorName }> = [];
  const simulators = new Map<SimulatorName, Simulator>();
  const cleanups: Array<() => Promise<unknown>> = [() => server.stop()];
  try {
    const start = async (name: SimulatorName, options: Partial<Parameters<typeof startSimulator>[0]> = {}) => {
      const simulator = await startSimulator({
        origin: server.url,
        onQuery: (event) => events.push({ ...event, simulator: name }),
        ...options,
      });
      simulators.set(name, simulator);
      cleanups.push(() => simulator.close());
    };
    await start("SIM");
    await start("SIM_NOCACHE", { caching: false });
    await start("SIM_SMALL", SMALL);
    await start("SIM_SLOW", { latencyMs: LATENCY_MS, caching: false });
    // An origin port nothing listens on: a database that refuses connections.
    const down = new URL(server.url);
    down.port = String(await (await import("@hyperdrive-kit/testing/servers")).freePort());
    await start("SIM_DOWN", { origin: down.toString() });

    const control = createServer(async (request, response) => {
      const url = new URL(request.url ?? "/", "http://control");
      if (url.pathname === "/events") {
        const since = Number(url.searchParams.get("since") ?? 0);
        response
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify({ next: events.length, events: events.slice(since) }));
      } else if (url.pathname === "/clear-cache") {
        for (const simulator of simulators.values()) simulator.clearCache();
        response.writeHead(200).end("null");
      } else if (url.pathname === "/stats") {
        response
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify(Object.fromEntries([...simulators].map(([name, s]) => [name, s.stats()]))));
      } else response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => control.listen(0, "127.0.0.1", () => resolve()));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          control.close(() => resolve());
          control.closeAllConnections();
        }),
    );
    const address = control.address();
    if (!address || typeof address !== "object") throw new Error("simulator control: no listening address");

    const bindings = Object.fromEntries([...simulators].map(([name, s]) => [name, s.localConnectionString]));
    project.provide("hyperdrives", { ...bindings, ADMIN: server.url } as Record<SimulatorName | "ADMIN", string>);
    project.provide("simulatorControl", `http://127.0.0.1:${address.port}`);
  } catch (error) {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    throw error;
  }
  return async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  };
}
