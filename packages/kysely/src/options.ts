import type { KyselyConfig } from "kysely";

/** Kysely's options besides the dialect, which this package provides. */
export type KyselyOptions = Omit<KyselyConfig, "dialect">;
