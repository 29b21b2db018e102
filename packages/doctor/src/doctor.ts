import { type Section, summarize } from "./findings.ts";
import { type LocalString, lintProject } from "./lint.ts";
import { checkOrigin, hasOriginFields, type OriginFields } from "./origin.ts";
import { type PreflightOptions, preflight } from "./preflight/index.ts";
import type { DoctorReport } from "./report.ts";

export interface DoctorOptions extends Omit<PreflightOptions, "target"> {
  /** The Worker project to lint; omitted: no project lint. */
  dir?: string;
  /** The Wrangler configuration file in `dir` (wrangler's `--config`); omitted: the one wrangler would pick. */
  config?: string;
  /** Also run the preflight against every binding's local connection string, as `wrangler dev` connects. */
  connect?: boolean;
  /** The origin fields of `wrangler hyperdrive create`: checked, then preflighted as Hyperdrive would connect. */
  origin?: OriginFields;
}

/** Where a local string is set, for the fixes: the variable wins over localConnectionString, so name the one used. */
function localSource(local: LocalString, config: string | undefined): string {
  const env = local.environment ? `[env.${local.environment}] ` : "";
  if (local.source === "localConnectionString") {
    return `the localConnectionString of ${env}binding ${local.binding}${config ? ` in ${config}` : ""}`;
  }
  // "$VARIABLE" (the shell) or ".env: VARIABLE".
  if (local.source.startsWith("$")) return `${local.source.slice(1)} (set in your shell)`;
  const [file, variable] = local.source.split(": ");
  return variable ? `${variable} in ${file}` : local.source;
}

/** Runs everything asked for and returns the report; throws only for usage errors (no project, bad options). */
export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const sections: Section[] = [];
  const { dir, config, connect, origin, ...preflightOptions } = options;
  if (dir !== undefined) {
    const project = await lintProject(dir, config === undefined ? {} : { config });
    sections.push(...project.sections);
    if (connect) {
      // Each distinct database once, even when several environments or bindings share it.
      const seen = new Set<string>();
      for (const local of project.localStrings) {
        if (seen.has(local.url)) continue;
        seen.add(local.url);
        const section = await preflight(local.url, {
          ...preflightOptions,
          target: "local",
          source: localSource(local, project.config),
        });
        section.title = `${section.title} · binding ${local.binding}${local.environment ? ` [env.${local.environment}]` : ""}, ${local.source.split(":")[0]}`;
        sections.push(section);
      }
    }
  }
  if (origin && hasOriginFields(origin)) {
    const checked = checkOrigin(origin);
    sections.push(checked.section);
    if (checked.url) {
      const sslmode = origin.sslmode ?? checked.url.sslmode;
      sections.push(
        await preflight(checked.url, { ...preflightOptions, ...(sslmode ? { sslmode } : {}), target: "production" }),
      );
    }
  }
  const summary = summarize(sections);
  return { sections, summary, exitCode: summary.fail > 0 ? 1 : 0 };
}
