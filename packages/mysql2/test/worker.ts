import { attach } from "@hyperdrive-kit/core/adapter";
import {
  type ConformanceDriver,
  createConformanceWorker,
  type DerivedObject,
  handlerKindClasses,
  mysqlDialect,
  type Rows,
  readRowStream,
} from "@hyperdrive-kit/testing/conformance";
import type { Connection as CallbackConnection, Pool as CallbackPool, PoolConnection } from "mysql2";
import type { Connection, Pool, PoolConnection as PromisePoolConnection } from "mysql2/promise";
import { mysql2ConnectionAdapter, mysql2PoolAdapter, withHyperdrive } from "../src/index.ts";

type Db = Connection | Pool;

/** The callback API's query, as a promise. */
const ask = (connection: CallbackConnection | CallbackPool) =>
  new Promise((resolve, reject) =>
    connection.query("select 1", (error, rows) => (error ? reject(error) : resolve(rows))),
  );

/** A pool's connection from the promise API, as transactions on a pool get one. */
const pooled = (use: (connection: PromisePoolConnection) => unknown): DerivedObject<Db> => ({
  async make(db, keep) {
    const connection = await (db as Pool).getConnection();
    keep(connection);
    await connection.query("select 1");
    connection.release();
  },
  use: async (connection) => use(connection as PromisePoolConnection),
});

/** What both modes give out: the callback twin of the handle and its promise() wrapper. */
const twins = (db: Db | PromisePoolConnection) =>
  db as unknown as { connection?: CallbackConnection; pool?: CallbackPool };

const driver: ConformanceDriver<Db> = {
  ...mysqlDialect,
  // Options come from the test's URL; `{ pool: true }` picks the Pool at run time.
  withHyperdrive: (env, ctx, fn, options) =>
    withHyperdrive(env, ctx, fn as (db: Connection) => Promise<Response>, options as Record<string, never>),
  attach: (scope, env, options) =>
    options.pool === true
      ? attach(mysql2PoolAdapter, scope, env, { ...options, pool: true })
      : attach(mysql2ConnectionAdapter, scope, env, { ...options, pool: false }),
  query: async (db, text) => (await db.query(text))[0] as Rows,
  rawQuery: (db, text) => db.query(text),
  derived: (options): Record<string, DerivedObject<Db>> =>
    options.pool === true
      ? {
          "getConnection(), query()": pooled((connection) => connection.query("select 1")),
          "getConnection(), release()": pooled((connection) => connection.release()),
          "db.pool (the callback API)": {
            async make(db, keep) {
              const pool = twins(db).pool as CallbackPool;
              keep(pool);
              await ask(pool);
            },
            use: (pool) => ask(pool as CallbackPool),
          },
          "db.pool.getConnection(callback)": {
            make: (db, keep) =>
              new Promise((resolve, reject) =>
                (twins(db).pool as CallbackPool).getConnection((error, connection: PoolConnection) => {
                  if (error) return reject(error);
                  keep(connection);
                  ask(connection)
                    .then(() => resolve(), reject)
                    .finally(() => connection.release());
                }),
              ),
            use: (connection) => ask(connection as PoolConnection),
          },
        }
      : {
          "db.connection (the callback API)": {
            async make(db, keep) {
              const connection = twins(db).connection as CallbackConnection;
              keep(connection);
              await ask(connection);
            },
            use: (connection) => ask(connection as CallbackConnection),
          },
          "db.connection.promise()": {
            async make(db, keep) {
              const promised = (twins(db).connection as CallbackConnection).promise();
              keep(promised);
              await promised.query("select 1");
            },
            use: (promised) => (promised as Connection).query("select 1"),
          },
        },
  // The callback API's row stream, on the handle's connection or on a connection taken from the pool.
  async streamRows(db, text, each) {
    if (!("getConnection" in db)) return readRowStream(twins(db).connection?.query(text).stream() as never, each);
    const connection = await db.getConnection();
    try {
      await readRowStream(twins(connection).connection?.query(text).stream() as never, each);
    } finally {
      connection.release();
    }
  },
  // A pool runs each query on any of its connections: a transaction takes one.
  async transaction(db, body) {
    const connection = "getConnection" in db ? await db.getConnection() : undefined;
    const on = connection ?? (db as Connection);
    try {
      await on.query("begin");
      const result = await body(async (text) => (await on.query(text))[0] as Rows);
      await on.query("commit");
      return result;
    } finally {
      connection?.release();
    }
  },
};

export default createConformanceWorker(driver);
export const { HandlerObject, HandlerEntrypoint, HandlerWorkflow } = handlerKindClasses(driver);
