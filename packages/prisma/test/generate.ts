/**
 * Generates the test schemas' Prisma clients into `.generated/` (gitignored), as a user's build does. `prisma
 * generate` looks for a schema engine it never runs; `PRISMA_SCHEMA_ENGINE_BINARY` set to any executable lets it
 * finish without downloading one. The tables are created with SQL by the tests.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const SCHEMAS = ["pg", "mariadb", "readme"] as const;

export async function generate(schemas: readonly string[] = SCHEMAS): Promise<void> {
  const cli = createRequire(import.meta.url).resolve("prisma/build/index.js");
  for (const name of schemas) {
    const schema = fileURLToPath(new URL(`./${name}/schema.prisma`, import.meta.url));
    try {
      await run(process.execPath, [cli, "generate", "--schema", schema], {
        timeout: 120_000,
        env: {
          ...process.env,
          PRISMA_SCHEMA_ENGINE_BINARY:
            process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? (existsSync("/bin/true") ? "/bin/true" : process.execPath),
          CHECKPOINT_DISABLE: "1",
          PRISMA_HIDE_UPDATE_MESSAGE: "1",
        },
      });
    } catch (error) {
      const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
      throw new Error(`prisma generate failed for ${schema}:\n${stdout}\n${stderr}`, { cause: error });
    }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await generate();
