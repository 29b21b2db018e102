import type { Readable } from "node:stream";
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
import type { Query } from "mysql";
import { type MysqlConnection, mysqlAdapter, withHyperdrive } from "../src/index.ts";

/** What mysqljs gives out that reads from the connection later: a Query's row events and its stream(). */
const derived: Record<string, DerivedObject<MysqlConnection>> = {
  "query()'s Query": {
    async make(db, keep) {
      const query = db.query("select 1");
      keep(query);
      await new Promise((resolve) => query.on("end", resolve));
    },
    use: async (query) => (query as Query).stream(),
  },
  "Query.stream()": {
    async make(db, keep) {
      const stream = db.query("select 1").stream();
      keep(stream);
      // mysqljs streams through readable-stream 2, which has no async iterator.
      await new Promise((resolve, reject) =>
        stream
          .on("data", () => {})
          .on("end", resolve)
          .on("error", reject),
      );
    },
    use: async (stream) => (stream as Readable).resume(),
  },
};

const driver: ConformanceDriver<MysqlConnection> = {
  ...mysqlDialect,
  withHyperdrive,
  attach: (scope, env, options) => attach(mysqlAdapter, scope, env, options),
  // The callback API, as mysqljs users write it.
  query: (db, text) =>
    new Promise<Rows>((resolve, reject) =>
      db.query(text, (error, rows: Rows) => (error ? reject(error) : resolve(rows))),
    ),
  // The callback is passed outside the promise's executor: a synchronous throw must not become a rejection here.
  rawQuery: (db, text) => {
    let settle!: (error: unknown) => void;
    const done = new Promise<void>((resolve, reject) => {
      settle = (error) => (error ? reject(error) : resolve());
    });
    db.query(text, (error) => settle(error));
    return done;
  },
  derived: () => derived,
  streamRows: (db, text, each) => readRowStream(db.query(text).stream(), each),
};

export default createConformanceWorker(driver);
export const { HandlerObject, HandlerEntrypoint, HandlerWorkflow } = handlerKindClasses(driver);
