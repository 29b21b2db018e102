#!/usr/bin/env node
import { main } from "./main.ts";

// Exit once main() is done, whatever is still open (a client mid-statement, an origin connection being closed): a
// signal always stops the simulator. A second signal while it closes exits at once.
main(process.argv.slice(2)).then(
  (code) => process.exit(code ?? 0),
  (error: unknown) => {
    process.stderr.write(`hyperdrive-kit-dev: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  },
);
