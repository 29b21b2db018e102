/**
 * `node --expose-gc bench/memory.ts`: the simulator's memory after 20 distinct 10 MB results (caching with a 2 s
 * max_age), and again once they have all expired. RSS, Buffers and heap of this one process.
 */
import { startPostgres } from "@hyperdrive-kit/testing/servers";
import pg from "pg";
import { startSimulator } from "../src/index.ts";

const server = await startPostgres();
const simulator = await startSimulator({ origin: server.url, caching: { maxAge: 2, staleWhileRevalidate: 0 } });
const client = new pg.Client({ connectionString: simulator.localConnectionString });
const memory = () => {
  const { rss, arrayBuffers, heapUsed } = process.memoryUsage();
  const mb = (bytes: number) => `${Math.round(bytes / 1048576)} MB`;
  return `RSS ${mb(rss)}, Buffers ${mb(arrayBuffers)}, heap ${mb(heapUsed)}`;
};
const settle = async () => {
  for (let i = 0; i < 3; i++) {
    (globalThis as { gc?: () => void }).gc?.();
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
};
try {
  await client.connect();
  await settle();
  console.log(`at start:          ${memory()}`);
  for (let i = 0; i < 20; i++) await client.query(`select repeat('x', 10 * 1024 * 1024) as big, ${i} as i`);
  await settle();
  console.log(`after 20 × 10 MB:  ${memory()}`);
  await new Promise((resolve) => setTimeout(resolve, 8_000));
  await settle();
  console.log(`all expired:       ${memory()} (cache: ${JSON.stringify(simulator.stats().cache)})`);
} finally {
  await client.end().catch(() => {});
  await simulator.close();
  await server.stop();
}
