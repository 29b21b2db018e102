// The README's API snippet, type-checked (the package's `docs:check` compares the two). Its imports resolve to the
// package's own entry, as a user's would.
import { readFile } from "node:fs/promises";
import { preflight, renderText, runDoctor } from "@hyperdrive-kit/doctor";

const report = await runDoctor({ dir: ".", connect: true, timeoutMs: 5_000 });
console.log(renderText(report), report.exitCode);
// Hyperdrive's own checks against one database, verifying its certificate against your CA.
const ca = await readFile("ca.pem", "utf8");
const section = await preflight("postgres://…", { sslmode: "verify-full", ca });
console.log(section.findings.length);
// A local connection string as `wrangler dev` connects; the fixes name where it is set.
const local = await preflight("postgres://…", {
  target: "local",
  source: "CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_DB in .env",
});
console.log(local.findings.map((finding) => finding.fix));
