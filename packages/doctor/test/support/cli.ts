/** Runs the `hyperdrive-kit` binary as users do: argv in, exit code, stdout and stderr out. */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

const CLI = fileURLToPath(new URL("../../src/cli.ts", import.meta.url));

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** From source (Node strips the types); workspace packages resolve to their builds, as installed. */
export function cli(args: readonly string[], cwd = process.cwd(), env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd, timeout: 60_000, env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: undefined, ...env } },
      (error, stdout, stderr) => {
        const code = error ? ((error as { code?: number }).code ?? null) : 0;
        resolve({ code: typeof code === "number" ? code : null, stdout, stderr });
      },
    );
  });
}
