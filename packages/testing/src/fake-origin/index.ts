export { HYPERDRIVE_PREPARE_ERROR, startFakeMysqlOrigin } from "./mysql.ts";
export { type FakeOrigin, type FakeOriginOptions, HYPERDRIVE_POOL_ERROR, startFakePostgresOrigin } from "./postgres.ts";
