/**
 * A real PostgreSQL and MariaDB and simulators in front of them, one per engine and simulated Hyperdrive
 * configuration, plus an HTTP control
 * so the tests inside workerd can read what the simulators saw (each statement's cache status) and clear caches.
 */
import { createServer } from "node:http";
import { type RunningServer, refusedPort, startMariadb, startPostgres } from "@hyperdrive-kit/testing/servers";
import type { TestProject } from "vitest/node";
import { type QueryEvent, type Simulator, startSimulator } from "../../src/index.ts";

import { type Configuration, type Engine, LATENCY_MS, type SimulatorName, SMALL, simulatorName } from "./config.ts";

declare module "vitest" {
  export interface ProvidedContext {
    hyperdrives: Record<SimulatorName | "ADMIN" | "MY_ADMIN", string>;
    simulatorControl: string;
  }
}

export default async function setup(project: TestProject) {
  const events: Array<QueryEvent & { simulator: SimulatorName }> = [];
  const simulators = new Map<SimulatorName, Simulator>();
  const cleanups: Array<() => Promise<unknown>> = [];
  const servers: Partial<Record<Engine, RunningServer>> = {};
  try {
    servers.postgres = await startPostgres();
    cleanups.push(() => (servers.postgres as RunningServer).stop());
    servers.mysql = await startMariadb();
    cleanups.push(() => (servers.mysql as RunningServer).stop());
    const start = async (
      engine: Engine,
      configuration: Configuration,
      options: Partial<Parameters<typeof startSimulator>[0]> = {},
    ) => {
      const name = simulatorName(engine, configuration);
      const simulator = await startSimulator({
        origin: (servers[engine] as RunningServer).url,
        onQuery: (event) => events.push({ ...event, simulator: name }),
        ...options,
      });
      simulators.set(name, simulator);
      cleanups.push(() => simulator.close());
    };
    for (const engine of ["postgres", "mysql"] as const) {
      await start(engine, "SIM");
      await start(engine, "SIM_NOCACHE", { caching: false });
      await start(engine, "SIM_SMALL", SMALL);
      await start(engine, "SIM_SLOW", { latencyMs: LATENCY_MS, caching: false });
      // An origin port nothing listens on: a database that refuses connections.
      const down = new URL((servers[engine] as RunningServer).url);
      down.port = String(await refusedPort());
      await start(engine, "SIM_DOWN", { origin: down.toString() });
    }

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
    project.provide("hyperdrives", {
      ...bindings,
      ADMIN: servers.postgres.url,
      MY_ADMIN: servers.mysql.url,
    } as Record<SimulatorName | "ADMIN" | "MY_ADMIN", string>);
    project.provide("simulatorControl", `http://127.0.0.1:${address.port}`);
  } catch (error) {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    throw error;
  }
  return async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  };
}
