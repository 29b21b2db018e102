/** The project lint: a Worker directory's Wrangler configuration, env files, drivers and source. */
import { existsSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { parseEnv } from "node:util";
import {
  ConfigParseError,
  type Environment,
  environments,
  findConfig,
  readConfig,
  type WranglerConfig,
} from "./config.ts";
import { lintDrivers } from "./drivers.ts";
import { type Finding, pass, problem, type Section } from "./findings.ts";
import { display, parseDatabaseUrl, poolerReason, UrlError } from "./local-string.ts";
import { lintSources } from "./source.ts";

/** `nodejs_compat` gives the drivers `node:net` and friends from this date on. */
export const NODEJS_COMPAT_SINCE = "2024-09-23";

export const LOCAL_STRING_PREFIX = "CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_";
/** The older prefix wrangler still reads (and warns about). */
const DEPRECATED_PREFIX = "WRANGLER_HYPERDRIVE_LOCAL_CONNECTION_STRING_";

// What wrangler accepts as a binding name: a JavaScript identifier (reserved words aside, which it also refuses).
const IDENTIFIER = /^[$_\p{ID_Start}](?:[$_\p{ID_Continue}]|\u200C|\u200D)*$/u;
const RESERVED = new Set(
  "break case catch class const continue debugger default delete do else enum export extends false finally for function if import in instanceof new null return super switch this throw true try typeof var void while with yield let static implements interface package private protected public await".split(
    " ",
  ),
);

export class ProjectNotFoundError extends Error {
  override readonly name = "ProjectNotFoundError";
}

/** A local connection string a binding would get in `wrangler dev`, and where it came from. */
export interface LocalString {
  binding: string;
  environment?: string;
  url: string;
  source: string;
}

export interface ProjectLint {
  config?: string;
  sections: Section[];
  /** Every binding's effective local connection string, for `--connect`. */
  localStrings: LocalString[];
}

async function envFile(path: string): Promise<Record<string, string>> {
  try {
    return parseEnv(await readFile(path, "utf8")) as Record<string, string>;
  } catch {
    return {};
  }
}

const label = (env: Environment) => (env.name ? `[env.${env.name}] ` : "");

function lintCompatibility(config: WranglerConfig, env: Environment): Finding[] {
  // The flag and the date are independent mistakes: report both, so one run shows everything to fix.
  const findings: Finding[] = [];
  const flags = Array.isArray(env.compatibilityFlags) ? env.compatibilityFlags : [];
  const hasCompat = flags.includes("nodejs_compat") || flags.includes("nodejs_compat_v2");
  if (!hasCompat) {
    findings.push(
      problem(
        "fail",
        "config.nodejs-compat",
        "HDK_NODEJS_COMPAT_MISSING",
        `${label(env)}compatibility_flags has no "nodejs_compat": the drivers cannot load node:net, node:tls or node:crypto`,
        { location: config.locate(env.flagsPath) },
      ),
    );
  }
  const date = env.compatibilityDate;
  if (typeof date !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(date)) {
    findings.push(
      problem(
        "fail",
        "config.compatibility-date",
        "HDK_DOCTOR_COMPATIBILITY_DATE",
        `${label(env)}no valid compatibility_date`,
        {
          location: config.locate(env.datePath),
        },
      ),
    );
  } else if (date < NODEJS_COMPAT_SINCE && !flags.includes("nodejs_compat_v2")) {
    // nodejs_compat_v2 turns the new Node.js APIs on whatever the date.
    findings.push(
      problem(
        "fail",
        "config.compatibility-date",
        "HDK_DOCTOR_COMPATIBILITY_DATE",
        `${label(env)}compatibility_date ${date} is before ${NODEJS_COMPAT_SINCE}`,
        { location: config.locate(env.datePath) },
      ),
    );
  }
  if (findings.length === 0) {
    findings.push(pass("config.nodejs-compat", `${label(env)}nodejs_compat on, compatibility_date ${date}`));
  }
  return findings;
}

interface EnvFiles {
  env: Record<string, string>;
  devVars: Record<string, string>;
  envName: string;
  devVarsName: string;
}

async function readEnvFiles(dir: string, environment?: string): Promise<EnvFiles> {
  // wrangler reads `.env` and, for `--env NAME`, `.env.NAME` over it; `.dev.vars` likewise.
  const envName = environment && existsSync(join(dir, `.env.${environment}`)) ? `.env.${environment}` : ".env";
  const devVarsName =
    environment && existsSync(join(dir, `.dev.vars.${environment}`)) ? `.dev.vars.${environment}` : ".dev.vars";
  return {
    env: { ...(await envFile(join(dir, ".env"))), ...(await envFile(join(dir, envName))) },
    devVars: await envFile(join(dir, devVarsName)),
    envName,
    devVarsName,
  };
}

function lintBinding(
  config: WranglerConfig,
  env: Environment,
  index: number,
  value: unknown,
  files: EnvFiles,
  localStrings: LocalString[],
): Finding[] {
  const path = [...env.path, "hyperdrive", index];
  const findings: Finding[] = [];
  const entry = (value && typeof value === "object" ? value : {}) as Record<string, unknown>;
  const name = entry.binding;
  const shown = typeof name === "string" && name ? name : `#${index + 1}`;
  const prefix = `${label(env)}binding ${shown}`;

  if (typeof name !== "string" || !IDENTIFIER.test(name) || RESERVED.has(name)) {
    findings.push(
      problem(
        "fail",
        "binding.name",
        "HDK_DOCTOR_BINDING_NAME",
        typeof name === "string"
          ? `${label(env)}binding name "${name}" is not a valid JavaScript identifier`
          : `${label(env)}hyperdrive entry #${index + 1} has no "binding" name`,
        { location: config.locate([...path, "binding"]) },
      ),
    );
  }
  if (typeof entry.id !== "string" || entry.id.trim() === "") {
    findings.push(
      problem("fail", "binding.id", "HDK_DOCTOR_BINDING_ID", `${prefix} has no "id"`, {
        location: config.locate(path),
      }),
    );
  }
  if (entry.remote === true) {
    findings.push(
      problem("warn", "binding.remote", "HDK_DOCTOR_REMOTE_BINDING", `${prefix} sets "remote": true`, {
        location: config.locate([...path, "remote"]),
      }),
    );
  }
  if (findings.length === 0) findings.push(pass("binding.name", `${prefix}: valid name, id set`));

  // The local connection string `wrangler dev` would use: the variable wins over localConnectionString.
  if (typeof name === "string" && name) {
    const variable = `${LOCAL_STRING_PREFIX}${name}`;
    const fromProcess = process.env[variable] ?? process.env[`${DEPRECATED_PREFIX}${name}`];
    const fromEnvFile = files.env[variable] ?? files.env[`${DEPRECATED_PREFIX}${name}`];
    const inDevVars =
      files.devVars[variable] !== undefined || files.devVars[`${DEPRECATED_PREFIX}${name}`] !== undefined;
    const configured = typeof entry.localConnectionString === "string" ? entry.localConnectionString : undefined;
    const chosen =
      fromProcess !== undefined && fromProcess !== ""
        ? { url: fromProcess, source: `$${variable}` }
        : fromEnvFile
          ? { url: fromEnvFile, source: `${files.envName}: ${variable}` }
          : configured !== undefined
            ? { url: configured, source: "localConnectionString" }
            : undefined;

    if (inDevVars && !fromProcess && !fromEnvFile) {
      findings.push(
        problem(
          chosen ? "warn" : "fail",
          "binding.local-string",
          "HDK_DOCTOR_LOCAL_STRING_IN_DEV_VARS",
          chosen
            ? `${prefix}: ${variable} is in ${files.devVarsName}, where wrangler ignores it; localConnectionString is used instead`
            : `${prefix}: ${variable} is in ${files.devVarsName}, where wrangler ignores it, and there is no other local connection string`,
          { location: { file: files.devVarsName } },
        ),
      );
    } else if (!chosen && entry.remote !== true) {
      findings.push(
        problem(
          "warn",
          "binding.local-string",
          "HDK_DOCTOR_LOCAL_STRING_MISSING",
          `${prefix}: no localConnectionString and no ${variable} in ${files.envName}: wrangler dev will refuse to start`,
          { location: config.locate(path) },
        ),
      );
    }
    if (chosen) findings.push(...lintLocalString(config, path, prefix, chosen, env, name, localStrings));
  } else if (typeof entry.localConnectionString === "string") {
    // Without a name there is no variable to look for, but the configured string has problems of its own.
    const chosen = { url: entry.localConnectionString, source: "localConnectionString" };
    findings.push(...lintLocalString(config, path, prefix, chosen, env, undefined, localStrings));
  }
  return findings;
}

function lintLocalString(
  config: WranglerConfig,
  path: (string | number)[],
  prefix: string,
  chosen: { url: string; source: string },
  env: Environment,
  binding: string | undefined,
  localStrings: LocalString[],
): Finding[] {
  const location =
    chosen.source === "localConnectionString" ? config.locate([...path, "localConnectionString"]) : undefined;
  const at = location ? { location } : {};
  let url: ReturnType<typeof parseDatabaseUrl>;
  try {
    url = parseDatabaseUrl(chosen.url);
  } catch (error) {
    const reason = error instanceof UrlError ? error.message : "not a URL";
    return [
      problem(
        "fail",
        "binding.local-string",
        "HDK_DOCTOR_LOCAL_STRING_INVALID",
        `${prefix}: ${chosen.source} is ${reason}`,
        at,
      ),
    ];
  }
  // An incomplete string and a pooler are independent mistakes: report both.
  const findings: Finding[] = [];
  const missing = (["user", "password", "database"] as const).filter((field) => !url[field]);
  if (missing.length > 0) {
    findings.push(
      problem(
        "fail",
        "binding.local-string",
        "HDK_DOCTOR_LOCAL_STRING_INVALID",
        `${prefix}: ${chosen.source} ${display(url)} has no ${missing.join(", no ")}`,
        at,
      ),
    );
  } else {
    // Only a string Miniflare accepts is worth connecting to (`--connect`); a binding without a name has none.
    if (binding !== undefined) {
      localStrings.push({
        binding,
        ...(env.name ? { environment: env.name } : {}),
        url: chosen.url,
        source: chosen.source,
      });
    }
    findings.push(pass("binding.local-string", `${prefix}: ${chosen.source} ${display(url)}`));
  }
  const pooler = poolerReason(url.host, url.port);
  if (pooler) {
    findings.push(
      problem(
        "warn",
        "binding.pooler",
        "HDK_DOCTOR_POOLER",
        `${prefix}: ${chosen.source} goes through a pooler (${pooler}); point your Hyperdrive configuration at the database itself`,
        at,
      ),
    );
  }
  return findings;
}

export interface LintOptions {
  /** The configuration file in the directory (wrangler's `--config`); default: the one wrangler would pick. */
  config?: string;
}

/** Lints a Worker project directory. Throws ProjectNotFoundError when it has no Wrangler configuration. */
export async function lintProject(directory: string, options: LintOptions = {}): Promise<ProjectLint> {
  const dir = resolve(directory);
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new ProjectNotFoundError(`${directory} is not a directory`);
  if (options.config !== undefined && !existsSync(join(dir, options.config))) {
    throw new ProjectNotFoundError(`${join(directory, options.config)}: no such file`);
  }
  const file = options.config ?? findConfig(dir);
  if (!file) {
    throw new ProjectNotFoundError(`${directory} has no wrangler.jsonc, wrangler.json or wrangler.toml`);
  }
  const sections: Section[] = [];
  const localStrings: LocalString[] = [];
  let config: WranglerConfig;
  try {
    config = await readConfig(dir, file);
  } catch (error) {
    if (!(error instanceof ConfigParseError)) throw error;
    const { line, column } = error.location;
    sections.push({
      kind: "project",
      title: file,
      findings: [
        problem(
          "fail",
          "config.parse",
          "HDK_DOCTOR_CONFIG_INVALID",
          `${file}:${line ?? "?"}:${column ?? "?"}: ${error.message}`,
          { location: error.location },
        ),
      ],
    });
    // The drivers and the source do not depend on the configuration: check them anyway (the source under src/, since
    // `main` cannot be read).
    sections.push(...(await lintCode(dir, [])));
    return { config: file, sections, localStrings };
  }

  const envs = environments(config);
  const topHasBindings = Array.isArray(config.raw.hyperdrive) && config.raw.hyperdrive.length > 0;
  const anyBindings = envs.some((env) => Array.isArray(env.hyperdrive) && env.hyperdrive.length > 0);
  for (const env of envs) {
    const findings: Finding[] = [];
    // A named environment that inherits both keys has nothing new to say about them.
    const ownCompat = !env.name || env.flagsPath[0] === "env" || env.datePath[0] === "env";
    if (ownCompat) findings.push(...lintCompatibility(config, env));
    const bindings = Array.isArray(env.hyperdrive) ? env.hyperdrive : [];
    if (bindings.length === 0) {
      if (env.name && topHasBindings) {
        findings.push(
          problem(
            "fail",
            "binding.missing",
            "HDK_BINDING_MISSING",
            `[env.${env.name}] has no "hyperdrive" bindings: wrangler does not inherit bindings from the top level`,
            { location: config.locate(env.path) },
          ),
        );
      } else if (!env.name && !anyBindings) {
        findings.push(
          problem("fail", "binding.missing", "HDK_BINDING_MISSING", `${file} has no "hyperdrive" binding`, {
            location: { file },
          }),
        );
      }
    }
    const files = await readEnvFiles(dir, env.name);
    bindings.forEach((binding, index) => {
      findings.push(...lintBinding(config, env, index, binding, files, localStrings));
    });
    sections.push({ kind: "project", title: env.name ? `${file} [env.${env.name}]` : file, findings });
  }

  sections.push(
    ...(await lintCode(
      dir,
      envs.map((env) => env.main),
    )),
  );
  return { config: file, sections, localStrings };
}

/** The drivers in package.json and the source under each `main`'s directory (else `src/`). */
async function lintCode(dir: string, mainEntries: unknown[]): Promise<Section[]> {
  const sections: Section[] = [];
  const drivers = await lintDrivers(dir);
  if (drivers.length > 0) sections.push({ kind: "project", title: "package.json", findings: drivers });

  const mains = new Set(mainEntries.filter((main): main is string => typeof main === "string"));
  const roots = mains.size > 0 ? [...mains].map((main) => dirname(join(dir, main))) : [join(dir, "src")];
  const { files, findings } = await lintSources(
    dir,
    roots.filter((root) => existsSync(root)),
  );
  sections.push({
    kind: "project",
    title: "source",
    findings:
      findings.length > 0
        ? findings
        : [
            pass(
              "source",
              `${files} source file${files === 1 ? "" : "s"}: no module-scope clients, prepare: false, eval or execute()`,
            ),
          ],
  });
  return sections;
}
