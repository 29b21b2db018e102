/**
 * `hyperdrive-kit-dev --origin postgres://…` (or `mysql://…`): starts the simulator, prints the connection string for the binding
 * and its `.env` line, logs each statement's cache status, and runs until interrupted.
 */
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { startSimulator } from "./simulator.ts";

const EXIT_USAGE = 2;

interface Flags {
  origin?: string;
  binding: string;
  host?: string;
  port?: number;
  password?: string;
  poolSize?: number;
  acquireTimeout?: number;
  statementTimeout?: number;
  cache: boolean;
  maxAge?: number;
  staleWhileRevalidate?: number;
  latency?: number;
  quiet?: boolean;
}

function count(name: string, { allowZero = false } = {}) {
  return (value: string) => {
    const number = Number(value);
    if (!Number.isInteger(number) || number < (allowZero ? 0 : 1)) {
      throw new InvalidArgumentError(`${name} must be a whole number${allowZero ? "" : " above 0"}.`);
    }
    return number;
  };
}

function program() {
  return new Command("hyperdrive-kit-dev")
    .description("A local Hyperdrive for wrangler dev and tests: pooling, caching and refusals as in production.")
    .option(
      "--origin <url>",
      "the origin database, postgres://… or mysql://user:password@host:port/db (or env HYPERDRIVE_ORIGIN)",
    )
    .option("--binding <name>", "the Hyperdrive binding the .env line is for", "HYPERDRIVE")
    .option("--host <host>", "where to listen (default 127.0.0.1)")
    .option("--port <port>", "where to listen (default: a free port)", count("--port"))
    .option("--password <password>", "the password the binding logs in with (default hyperdrive-kit-dev)")
    .option(
      "--pool-size <n>",
      "origin connections shared by all clients: your configuration's origin connection limit (default 20)",
      count("--pool-size"),
    )
    .option(
      "--acquire-timeout <ms>",
      "wait for a free connection before 58000 (a guess: 5000)",
      count("--acquire-timeout"),
    )
    .option(
      "--statement-timeout <ms>",
      "statements running longer are terminated (Hyperdrive: 60000; 0: no limit)",
      count("--statement-timeout", { allowZero: true }),
    )
    .option("--no-cache", "simulate a configuration with caching disabled")
    .option("--max-age <s>", "seconds a cached result is fresh (60)", count("--max-age"))
    .option(
      "--stale-while-revalidate <s>",
      "seconds a stale result is still served (15)",
      count("--stale-while-revalidate", { allowZero: true }),
    )
    .option(
      "--latency <ms>",
      "milliseconds added to each round trip to the origin",
      count("--latency", { allowZero: true }),
    )
    .option("--quiet", "no log line per statement")
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });
}

export async function main(argv: string[], { signal }: { signal?: AbortSignal } = {}): Promise<number | undefined> {
  const command = program();
  try {
    command.parse(argv, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : EXIT_USAGE;
    throw error;
  }
  const flags = command.opts<Flags>();
  const origin = flags.origin ?? process.env.HYPERDRIVE_ORIGIN;
  if (!origin) {
    process.stderr.write(
      "hyperdrive-kit-dev: give the origin database: --origin postgres://user:password@host:port/db (or mysql://…)\n",
    );
    return EXIT_USAGE;
  }
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(flags.binding)) {
    process.stderr.write(
      `hyperdrive-kit-dev: --binding must be the binding's name as in wrangler's config, got "${flags.binding}"\n`,
    );
    return EXIT_USAGE;
  }
  const log = (line: string) => process.stdout.write(`[hyperdrive] ${line}\n`);
  let simulator: Awaited<ReturnType<typeof startSimulator>>;
  try {
    simulator = await startSimulator({
      origin,
      ...(flags.host ? { host: flags.host } : {}),
      ...(flags.port ? { port: flags.port } : {}),
      ...(flags.password ? { password: flags.password } : {}),
      ...(flags.poolSize ? { poolSize: flags.poolSize } : {}),
      ...(flags.acquireTimeout ? { acquireTimeoutMs: flags.acquireTimeout } : {}),
      ...(flags.statementTimeout !== undefined ? { statementTimeoutMs: flags.statementTimeout } : {}),
      caching: flags.cache
        ? {
            ...(flags.maxAge !== undefined ? { maxAge: flags.maxAge } : {}),
            ...(flags.staleWhileRevalidate !== undefined ? { staleWhileRevalidate: flags.staleWhileRevalidate } : {}),
          }
        : false,
      ...(flags.latency !== undefined ? { latencyMs: flags.latency } : {}),
      log: flags.quiet ? (line) => void (line.startsWith("cache=") || log(line)) : log,
    });
  } catch (error) {
    if (error instanceof TypeError) {
      process.stderr.write(`hyperdrive-kit-dev: ${error.message}\n`);
      return EXIT_USAGE;
    }
    throw error;
  }
  process.stdout.write(
    [
      `A local Hyperdrive is listening on ${simulator.host}:${simulator.port}.`,
      "In wrangler's config, set the binding's localConnectionString to:",
      `  ${simulator.localConnectionString}`,
      "or put this line in .env (not .dev.vars):",
      `  CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_${flags.binding}=${simulator.localConnectionString}`,
      "",
    ].join("\n"),
  );
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
    signal?.addEventListener("abort", stop, { once: true });
  });
  await simulator.close();
  return 0;
}
