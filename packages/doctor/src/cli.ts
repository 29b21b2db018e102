#!/usr/bin/env node
import { main } from "./main.ts";

main(process.argv.slice(2)).then(
  (code) => {
    // Not process.exit(): it could cut off output still being written to a pipe.
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`hyperdrive-kit: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 2;
  },
);
