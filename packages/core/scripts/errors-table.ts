/**
 * Writes the error tables in the READMEs from the catalogue (`--check`: fails when a table has drifted).
 * Run: `pnpm --filter @hyperdrive-kit/core docs:errors`.
 */
import { readFile, writeFile } from "node:fs/promises";
import { type CatalogEntry, catalog, type DriverName, fixFor } from "../src/catalog.ts";

const root = new URL("../../../", import.meta.url);
const targets: Array<[string, DriverName | undefined]> = [
  ["README.md", undefined],
  ["packages/core/README.md", undefined],
  ["packages/pg/README.md", "pg"],
  ["packages/postgres/README.md", "postgres"],
  ["packages/mysql2/README.md", "mysql2"],
  ["packages/mysql/README.md", "mysql"],
];
const START = "<!-- errors:start -->";
const END = "<!-- errors:end -->";

const cell = (text: string) => text.replaceAll("|", "\\|").replaceAll("\n", " ");

/** The general fix, then (where it differs) the one for a handle used in its own request; MySQL-only advice where it applies. */
const fixOf = (entry: CatalogEntry, driver: DriverName | undefined) =>
  `${fixFor(entry, driver)}${entry.fixInRequest === undefined ? "" : ` ${entry.fixInRequest}`}`;

export function errorTable(driver?: DriverName): string {
  const rows = Object.entries(catalog)
    .filter(([, entry]) => driver === undefined || !("drivers" in entry) || entry.drivers.includes(driver))
    .map(
      ([code, entry]) =>
        `| \`${code}\` | ${entry.category} | ${cell(entry.details)} | ${cell(fixOf(entry, driver))} | ${entry.retryable ? "yes" : "no"} |`,
    );
  return [
    "<!-- Generated from packages/core/src/catalog.ts by `pnpm --filter @hyperdrive-kit/core docs:errors`; do not edit. -->",
    "",
    "| Code | Category | When it happens | Fix | Retryable |",
    "| --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
}

const check = process.argv.includes("--check");
let drifted = 0;
for (const [path, driver] of targets) {
  const url = new URL(path, root);
  let text: string;
  try {
    text = await readFile(url, "utf8");
  } catch {
    continue; // a package that does not exist yet
  }
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  if (start === -1 || end === -1) {
    console.error(`${path}: missing ${START} … ${END}`);
    drifted++;
    continue;
  }
  const updated = `${text.slice(0, start + START.length)}\n${errorTable(driver)}\n${text.slice(end)}`;
  if (updated === text) continue;
  if (check) {
    console.error(
      `${path}: the error table differs from the catalogue; run \`pnpm --filter @hyperdrive-kit/core docs:errors\`.`,
    );
    drifted++;
  } else {
    await writeFile(url, updated);
    console.log(`updated ${path}`);
  }
}
if (drifted > 0) process.exit(1);
