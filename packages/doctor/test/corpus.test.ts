/**
 * The corpus: small Worker projects written in the shapes found in public Worker code, each with the warnings and
 * failures it must get (`expected.json`). Every expected finding must be reported (recall) and nothing else may warn
 * or fail (precision), through the binary as users run it.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { cli } from "./support/cli.ts";
import { fixture } from "./support/fixtures.ts";

const CORPUS = fileURLToPath(new URL("./fixtures/corpus/", import.meta.url));

interface Expected {
  shape: string;
  /** The Worker's directory inside the project (a monorepo's app), default the project itself. */
  dir?: string;
  /** `status CODE file[:line]`, in any order. */
  expected: string[];
}

interface JsonFinding {
  status: "pass" | "warn" | "fail";
  code?: string;
  location?: { file: string; line?: number };
}

const projects = readdirSync(CORPUS).sort();
const results: { name: string; shape: string; expected: string[]; found: string[] }[] = [];

function key(finding: JsonFinding): string {
  const place = finding.location
    ? `${finding.location.file}${finding.location.line ? `:${finding.location.line}` : ""}`
    : "";
  return `${finding.status} ${finding.code} ${place}`.trim();
}

describe("corpus", () => {
  it("has at least 20 projects", () => {
    expect(projects.length).toBeGreaterThanOrEqual(20);
  });

  it.each(projects)("%s", async (name) => {
    const meta = JSON.parse(readFileSync(join(CORPUS, name, "expected.json"), "utf8")) as Expected;
    const copy = await fixture(`corpus/${name}`);
    try {
      const run = await cli(["doctor", join(copy.dir, meta.dir ?? "."), "--json"]);
      expect(run.stderr).toBe("");
      const report = JSON.parse(run.stdout) as { sections: { findings: JsonFinding[] }[]; exitCode: number };
      const found = report.sections
        .flatMap((section) => section.findings)
        .filter((finding) => finding.status !== "pass")
        .map(key)
        .sort();
      results.push({ name, shape: meta.shape, expected: [...meta.expected].sort(), found });
      expect(found).toEqual([...meta.expected].sort());
      expect(run.code).toBe(meta.expected.some((e) => e.startsWith("fail")) ? 1 : 0);
    } finally {
      await copy.remove();
    }
  });

  afterAll(() => {
    // Recall and precision over the whole corpus, for the README's figures.
    const expected = results.flatMap((r) => r.expected.map((e) => `${r.name} ${e}`));
    const found = results.flatMap((r) => r.found.map((f) => `${r.name} ${f}`));
    const hits = expected.filter((e) => found.includes(e)).length;
    const recall = expected.length === 0 ? 1 : hits / expected.length;
    const precision = found.length === 0 ? 1 : found.filter((f) => expected.includes(f)).length / found.length;
    console.log(
      `corpus: ${results.length} projects, ${expected.length} expected findings, ${found.length} found, recall ${(recall * 100).toFixed(0)} %, precision ${(precision * 100).toFixed(0)} %`,
    );
  });
});
