import { createConformanceWorker, postgresDialect } from "@hyperdrive-kit/testing/conformance";
import { type Sql, withHyperdrive } from "../src/index.ts";

export default createConformanceWorker<Sql>({
  ...postgresDialect,
  withHyperdrive,
  query: async (sql, text) => [...(await sql.unsafe(text))],
});
