/** Test helpers that run inside workerd: `scoped` (a scope per call). */

import { scopedRunner } from "@hyperdrive-kit/testing/suite";
import { type MysqlConnection, withHyperdrive } from "../src/index.ts";

export const scoped = scopedRunner<MysqlConnection>(withHyperdrive as never);

export { type Binding, bindings, errorEvent, lifecycle, type Outcome } from "@hyperdrive-kit/testing/suite";
