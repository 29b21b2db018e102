#!/usr/bin/env node
import { main } from "./main.ts";

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`hyperdrive-kit-dev: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  },
);
