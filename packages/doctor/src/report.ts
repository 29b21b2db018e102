/** The doctor's output: grouped text for people, JSON for CI, and the progress line while a network check waits. */
import pc from "picocolors";
import type { Finding, Section, Summary } from "./findings.ts";

export interface DoctorReport {
  sections: Section[];
  summary: Summary;
  /** 0: no failure (warnings allowed); 1: at least one failure. Usage errors exit with 2 before a report exists. */
  exitCode: 0 | 1;
}

type Colors = ReturnType<typeof pc.createColors>;

const KIND_LABEL: Record<Section["kind"], string> = { project: "Project", connection: "Connection", origin: "Origin" };

function mark(finding: Finding, c: Colors): string {
  if (finding.status === "pass") return c.green("✓");
  if (finding.status === "warn") return c.yellow("!");
  return c.red("✗");
}

function where(finding: Finding): string | undefined {
  const location = finding.location;
  if (!location) return undefined;
  return [location.file, location.line, location.column].filter((part) => part !== undefined).join(":");
}

export function renderText(report: DoctorReport, colors = pc.isColorSupported): string {
  const c = pc.createColors(colors);
  const lines: string[] = [];
  for (const section of report.sections) {
    lines.push("", `${c.bold(KIND_LABEL[section.kind])}  ${section.title}`);
    for (const finding of section.findings) {
      const time = finding.durationMs === undefined ? "" : c.dim(`  ${finding.durationMs} ms`);
      lines.push(`  ${mark(finding, c)} ${finding.title}${time}`);
      if (finding.status === "pass") continue;
      const place = where(finding);
      // Source findings already start with their file:line.
      const showPlace = place && !finding.title.startsWith(place);
      lines.push(`      ${c.dim([finding.code, showPlace ? place : undefined].filter(Boolean).join(" · "))}`);
      if (finding.details) lines.push(`      ${finding.details}`);
      if (finding.fix) lines.push(`      ${c.cyan("Fix:")} ${finding.fix}`);
      if (finding.docs) lines.push(`      ${c.dim(finding.docs)}`);
    }
  }
  const { pass, warn, fail } = report.summary;
  const parts = [
    c.green(`${pass} passed`),
    (warn > 0 ? c.yellow : c.dim)(`${warn} warning${warn === 1 ? "" : "s"}`),
    (fail > 0 ? c.red : c.dim)(`${fail} failed`),
  ];
  lines.push("", parts.join(c.dim(" · ")), "");
  return lines.join("\n");
}

export function renderJson(report: DoctorReport): string {
  return `${JSON.stringify({ version: 1, ...report }, null, 2)}\n`;
}

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/** A one-line spinner on `stream` while the doctor waits, only when `stream` is a terminal. */
export function progressLine(stream: NodeJS.WriteStream): (label: string | undefined) => void {
  if (!stream.isTTY) return () => {};
  let timer: NodeJS.Timeout | undefined;
  let frame = 0;
  let text = "";
  const draw = () => stream.write(`\r\x1b[2K${pc.cyan(FRAMES[frame++ % FRAMES.length] as string)} ${text}…`);
  return (label) => {
    if (label === undefined) {
      if (timer) clearInterval(timer);
      timer = undefined;
      stream.write("\r\x1b[2K");
      return;
    }
    text = label;
    draw();
    if (!timer) {
      timer = setInterval(draw, 80);
      timer.unref();
    }
  };
}
