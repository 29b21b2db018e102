/**
 * `prisma generate`. Prisma's CLI also fetches a schema engine that generation never runs; where it cannot be
 * downloaded (offline CI), `PRISMA_SCHEMA_ENGINE_BINARY` set to any executable lets generation finish.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";

const cli = createRequire(import.meta.url).resolve("prisma/build/index.js");
execFileSync(process.execPath, [cli, "generate"], {
  stdio: "inherit",
  env: {
    ...process.env,
    PRISMA_SCHEMA_ENGINE_BINARY:
      process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? (existsSync("/bin/true") ? "/bin/true" : process.execPath),
    CHECKPOINT_DISABLE: "1",
  },
});
