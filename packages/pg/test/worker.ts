import { attach } from "@hyperdrive-kit/core/adapter";
import {
  type ConformanceDriver,
  createConformanceWorker,
  type DerivedObject,
  handlerKindClasses,
  postgresDialect,
} from "@hyperdrive-kit/testing/conformance";
import type { Client, Pool, PoolClient } from "pg";
import Cursor from "pg-cursor";
import { pgClientAdapter, pgPoolAdapter, withHyperdrive } from "../src/index.ts";

type Db = Client | Pool;

/** A pool's client, as transactions on a pool get one. */
const poolClient = (use: (client: PoolClient) => unknown): DerivedObject<Db> => ({
  async make(db, keep) {
    const client = await (db as Pool).connect();
    keep(client);
    await client.query("select 1");
    client.release();
  },
  use: async (client) => use(client as PoolClient),
});

const driver: ConformanceDriver<Db> = {
  ...postgresDialect,
  withHyperdrive: (env, ctx, fn, options) => withHyperdrive(env, ctx, fn as never, options),
  attach: (scope, env, options) =>
    options.pool === true
      ? attach(pgPoolAdapter, scope, env, { ...options, pool: true })
      : attach(pgClientAdapter, scope, env, { ...options, pool: false }),
  query: async (db, text) => (await db.query(text)).rows,
  rawQuery: (db, text) => db.query(text),
  derived: (options): Record<string, DerivedObject<Db>> =>
    options.pool === true
      ? {
          "pool.connect() client, query()": poolClient((client) => client.query("select 1")),
          "pool.connect() client, release()": poolClient((client) => client.release()),
          "pool.connect(callback) client": {
            make: (db, keep) =>
              new Promise((resolve, reject) =>
                (db as Pool).connect((error, client, release) => {
                  if (error || !client) return reject(error);
                  keep(client);
                  client.query("select 1", (queryError) => {
                    release();
                    if (queryError) reject(queryError);
                    else resolve();
                  });
                }),
              ),
            use: (client) =>
              new Promise((resolve, reject) =>
                (client as PoolClient).query("select 1", (error, result) => (error ? reject(error) : resolve(result))),
              ),
          },
        }
      : {},
  // pg-cursor as its users write it: five rows a read, closed in `finally`; on a pool, on a client taken for it.
  async streamRows(db, text, each) {
    const client = "totalCount" in db ? await db.connect() : db;
    let failed: unknown;
    try {
      const cursor = client.query(new Cursor(text));
      try {
        for (let rows = await cursor.read(5); rows.length > 0; rows = await cursor.read(5))
          for (const row of rows) await each(row);
      } finally {
        await cursor.close().catch(() => {});
      }
    } catch (error) {
      failed = error;
      throw error;
    } finally {
      if (client !== db) (client as PoolClient).release(failed instanceof Error ? failed : undefined);
    }
  },
  // A pool runs each query on any of its clients: a transaction takes one.
  async transaction(db, body) {
    if (!("totalCount" in db)) {
      await db.query("begin");
      const result = await body(async (text) => (await db.query(text)).rows);
      await db.query("commit");
      return result;
    }
    const client = await db.connect();
    try {
      await client.query("begin");
      const result = await body(async (text) => (await client.query(text)).rows);
      await client.query("commit");
      return result;
    } finally {
      client.release();
    }
  },
};

export default createConformanceWorker<Db>(driver);
export const { HandlerObject, HandlerEntrypoint, HandlerWorkflow } = handlerKindClasses(driver);
