/**
 * `pnpm bench`: the cost hyperdrive-kit adds on top of the raw driver, as ratios measured in one run.
 * 1. Per query: the same pg Client queried raw, and through the guarded handle inside an open scope.
 * 2. Per request: opening, settling and tearing down a scope (with one guarded client) against doing nothing.
 * Runs in Node against a real PostgreSQL (embedded); the guard and scope code is the same code that runs in workerd.
 */
import { guard, openScope } from "@hyperdrive-kit/core/adapter";
import { startPostgres } from "@hyperdrive-kit/testing/servers";
import pg from "pg";

const ROUNDS = 7;
const QUERIES = 2000;
const SCOPES = 20000;

async function timeIt(run: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

const server = await startPostgres();
const client = new pg.Client({ connectionString: server.url });
await client.connect();
try {
  const scope = openScope({ waitUntil() {} });
  const guarded = guard(client, { queryMethods: ["query"] }, { driver: "pg", scope, secrets: [] });
  const raw: number[] = [];
  const wrapped: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate the order so that warm-up and drift hit both sides alike.
    const rawRun = () =>
      timeIt(async () => {
        for (let i = 0; i < QUERIES; i++) await client.query("select 1");
      });
    const wrappedRun = () =>
      scope.run(() =>
        timeIt(async () => {
          for (let i = 0; i < QUERIES; i++) await guarded.query("select 1");
        }),
      );
    if (round % 2 === 0) {
      raw.push(await rawRun());
      wrapped.push(await wrappedRun());
    } else {
      wrapped.push(await wrappedRun());
      raw.push(await rawRun());
    }
  }
  const perQueryRaw = (median(raw) / QUERIES) * 1000;
  const perQueryWrapped = (median(wrapped) / QUERIES) * 1000;

  const bare: number[] = [];
  const scoped: number[] = [];
  const noop = async () => {};
  for (let round = 0; round < ROUNDS; round++) {
    bare.push(
      await timeIt(async () => {
        for (let i = 0; i < SCOPES; i++) await noop();
      }),
    );
    scoped.push(
      await timeIt(async () => {
        for (let i = 0; i < SCOPES; i++) {
          const s = openScope({ waitUntil() {} });
          s.onTeardown("pg", noop);
          const handle = guard(client, { queryMethods: ["query"] }, { driver: "pg", scope: s, secrets: [] });
          await s.run(async () => handle.escapeIdentifier("x"));
          void s.settle(undefined);
          await s.closed;
        }
      }),
    );
  }
  const perScopeUs = ((median(scoped) - median(bare)) / SCOPES) * 1000;

  console.log("hyperdrive-kit bench (Node, pg against a local PostgreSQL; medians of %d rounds)", ROUNDS);
  console.log(
    `per query  raw pg: ${perQueryRaw.toFixed(1)} µs   through the handle: ${perQueryWrapped.toFixed(1)} µs   ratio: ${(perQueryWrapped / perQueryRaw).toFixed(3)}`,
  );
  console.log(
    `per request scope open + guard + settle + teardown: ${perScopeUs.toFixed(2)} µs (= ${((perScopeUs / perQueryRaw) * 100).toFixed(2)} % of one raw local query)`,
  );
} finally {
  await client.end();
  await server.stop();
}
