/** The project lint: a Worker directory's Wrangler configuration, env files, drivers and source. */
import { existsSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { parseEnv } from "node:util";
import {
  CONFIG_FILES,
  ConfigParseError,
  type Environment,
  environments,
  findConfig,
  readConfig,
  type WranglerConfig,
} from "./config.ts";
import { driverVersions, lintDrivers } from "./drivers.ts";
import { type Finding, pass, problem, type Section } from "./findings.ts";
import { display, parseDatabaseUrl, poolerReason, UrlError } from "./local-string.ts";
import { BINDING_DOCS, LOCAL_DEV } from "./rules.ts";
import { lintSources } from "./sources.ts";
import { dependencies, findWorkspace, readPackageJson } from "./workspace.ts";

/** `nodejs_compat` gives the drivers `node:net` and friends from this date on. */
export const NODEJS_COMPAT_SINCE = "2024-09-23";
/** From this compatibility date on, Node.js compatibility is on without the flag (Cloudflare's changelog, 2026-08-04). */
export const NODEJS_COMPAT_DEFAULT_FROM = "2026-08-04";

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

/**
 * An id from a template or a tutorial: Hyperdrive ids are 32 hexadecimal digits, and all zeros or a run of one
 * character is a stand-in (`"xxxxxxxx…"`, `"your-hyperdrive-config-id"`, `"<HYPERDRIVE_ID>"`).
 */
function isPlaceholderId(id: string): boolean {
  const trimmed = id.trim();
  return !/^[0-9a-f]{32}$/i.test(trimmed) || /^(.)\1*$/.test(trimmed);
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

/**
 * The flag and the date the drivers need. `noDriver`: the Worker's source was read in full and imports no database
 * driver, so nothing fails today: a warning for when one is added.
 */
function lintCompatibility(config: WranglerConfig, env: Environment, noDriver: boolean): Finding[] {
  const status = noDriver ? "warn" : "fail";
  const cannotLoad = noDriver
    ? "no database driver is imported by the source read, but one would not load node:net, node:tls or node:crypto"
    : "the drivers cannot load node:net, node:tls or node:crypto";
  const tooOld = noDriver ? ": no database driver is imported by the source read, but one would need a later date" : "";
  // The flag and the date are independent mistakes: report both, so one run shows everything to fix.
  const findings: Finding[] = [];
  const flags = Array.isArray(env.compatibilityFlags) ? env.compatibilityFlags : [];
  const date = typeof env.compatibilityDate === "string" ? env.compatibilityDate : undefined;
  const validDate = date !== undefined && /^\d{4}-\d{2}-\d{2}$/.test(date);
  const byDefault = validDate && date >= NODEJS_COMPAT_DEFAULT_FROM && !flags.includes("no_nodejs_compat");
  const hasCompat = flags.includes("nodejs_compat") || flags.includes("nodejs_compat_v2") || byDefault;
  if (!hasCompat) {
    findings.push(
      problem(
        status,
        "config.nodejs-compat",
        "HDK_NODEJS_COMPAT_MISSING",
        flags.includes("no_nodejs_compat")
          ? `${label(env)}compatibility_flags has "no_nodejs_compat": ${cannotLoad}`
          : `${label(env)}compatibility_flags has no "nodejs_compat" (on by default only from compatibility_date ${NODEJS_COMPAT_DEFAULT_FROM}): ${cannotLoad}`,
        // Without the key, where it goes: beside the date.
        { location: config.locate(env.compatibilityFlags === undefined ? env.datePath : env.flagsPath) },
      ),
    );
  }
  if (!validDate) {
    findings.push(
      problem(
        status,
        "config.compatibility-date",
        "HDK_DOCTOR_COMPATIBILITY_DATE",
        `${label(env)}no valid compatibility_date${tooOld}`,
        { location: config.locate(env.datePath) },
      ),
    );
  } else if (date < NODEJS_COMPAT_SINCE && !flags.includes("nodejs_compat_v2")) {
    // nodejs_compat_v2 turns the new Node.js APIs on whatever the date.
    findings.push(
      problem(
        status,
        "config.compatibility-date",
        "HDK_DOCTOR_COMPATIBILITY_DATE",
        `${label(env)}compatibility_date ${date} is before ${NODEJS_COMPAT_SINCE}${tooOld}`,
        { location: config.locate(env.datePath) },
      ),
    );
  }
  if (findings.length === 0) {
    const how =
      flags.includes("nodejs_compat") || flags.includes("nodejs_compat_v2")
        ? "nodejs_compat on"
        : `nodejs_compat on by default (compatibility_date ${NODEJS_COMPAT_DEFAULT_FROM} or later)`;
    findings.push(pass("config.nodejs-compat", `${label(env)}${how}, compatibility_date ${date}`));
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
  } else if (isPlaceholderId(entry.id)) {
    findings.push(
      problem(
        "warn",
        "binding.id",
        "HDK_DOCTOR_BINDING_ID",
        `${prefix}: id "${entry.id}" is a placeholder, not a Hyperdrive configuration id: wrangler deploy will refuse it`,
        { location: config.locate([...path, "id"]) },
      ),
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
    const deprecated = `${DEPRECATED_PREFIX}${name}`;
    // Each under the name it is set with: the deprecated one is shown as itself, not as the new name.
    const named = (values: Record<string, string | undefined>) =>
      values[variable]
        ? { value: values[variable], as: variable }
        : values[deprecated]
          ? { value: values[deprecated], as: deprecated }
          : undefined;
    const fromProcess = named(process.env);
    const fromEnvFile = named(files.env);
    const devVarsName = files.devVars[variable] !== undefined ? variable : deprecated;
    const inDevVars = files.devVars[variable] !== undefined || files.devVars[deprecated] !== undefined;
    const configured = typeof entry.localConnectionString === "string" ? entry.localConnectionString : undefined;
    const chosen = fromProcess
      ? { url: fromProcess.value, source: `$${fromProcess.as}` }
      : fromEnvFile
        ? { url: fromEnvFile.value, source: `${files.envName}: ${fromEnvFile.as}` }
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
            ? `${prefix}: ${devVarsName} is in ${files.devVarsName}, where wrangler ignores it; localConnectionString is used instead`
            : `${prefix}: ${devVarsName} is in ${files.devVarsName}, where wrangler ignores it, and there is no other local connection string`,
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

// A local connection string is wrangler dev's alone: Hyperdrive and its origin are not involved.
const LOCAL_POOLER_DETAILS =
  "In local development the Hyperdrive binding connects straight to the local connection string, with no Hyperdrive pooling or caching in between. A transaction-mode pooler there (PgBouncer, Supavisor) hands each transaction a different server connection, which can break named prepared statements (the drivers prepare them by default; unless the pooler is set up to track them) and session state (`SET`, temporary tables, advisory locks), in ways the deployed Worker does not see.";
const LOCAL_POOLER_FIX =
  "Point the local connection string at the local database itself (usually port 5432, MySQL 3306). The deployed Worker is unaffected: Hyperdrive connects to the origin given in `wrangler hyperdrive create`.";

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
        `${prefix}: ${chosen.source} goes through a pooler (${pooler}): wrangler dev connects to it directly, without Hyperdrive, so local queries go through that pooler`,
        { ...at, details: LOCAL_POOLER_DETAILS, fix: LOCAL_POOLER_FIX, docs: LOCAL_DEV },
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
    sections.push(...(await lintCode(dir, file, [], true)).sections);
    return { config: file, sections, localStrings };
  }

  const envs = environments(config);
  const bindingsOf = (env: Environment) => (Array.isArray(env.hyperdrive) ? env.hyperdrive : []);
  const topHasBindings = bindingsOf(envs[0] as Environment).length > 0;
  const anyBindings = envs.some((env) => bindingsOf(env).length > 0);
  const code = await lintCode(
    dir,
    file,
    envs.map((env) => env.main),
    anyBindings,
  );
  // Judged by what the Worker uses: one with no database driver and no Hyperdrive binding is not Hyperdrive's.
  const usesDatabase = anyBindings || code.usesDatabase;
  const ignored = options.config === undefined ? await ignoredBindings(dir, file) : [];
  for (const env of envs) {
    const findings: Finding[] = env.name ? [] : [...ignored];
    const malformed = env.hyperdrive !== undefined && !Array.isArray(env.hyperdrive);
    if (malformed) {
      const toml = file.endsWith(".toml");
      findings.push(
        problem(
          "fail",
          "config.hyperdrive",
          "HDK_DOCTOR_CONFIG_INVALID",
          `${label(env)}"hyperdrive" is ${typeof env.hyperdrive === "object" && env.hyperdrive !== null ? "a table" : `a ${typeof env.hyperdrive}`}, not a list of bindings: ${toml ? `write [[${env.name ? `env.${env.name}.` : ""}hyperdrive]] (two brackets)` : 'write "hyperdrive": [{ "binding": …, "id": … }]'}`,
          { location: config.locate([...env.path, "hyperdrive"]) },
        ),
      );
    }
    if (usesDatabase) {
      // A named environment that inherits both keys has nothing new to say about them.
      const ownCompat = !env.name || env.flagsPath[0] === "env" || env.datePath[0] === "env";
      if (ownCompat) findings.push(...lintCompatibility(config, env, code.noDriver));
    }
    const bindings = bindingsOf(env);
    if (bindings.length === 0 && !malformed) {
      if (env.name && topHasBindings) {
        findings.push(
          problem(
            "fail",
            "binding.missing",
            "HDK_BINDING_MISSING",
            `[env.${env.name}] has no "hyperdrive" bindings: wrangler does not inherit bindings from the top level`,
            { location: config.locate(env.path), docs: BINDING_DOCS, fix: missingInEnvFix(file, env.name) },
          ),
        );
      } else if (!env.name && !anyBindings && code.usesDatabase) {
        // A Worker that reads a binding breaks without one; one that hands its driver a URL works, without Hyperdrive.
        findings.push(
          // Unread source cannot tell: the driver in package.json may be meant for a binding.
          code.readsHyperdrive || !code.read
            ? problem(
                "fail",
                "binding.missing",
                "HDK_BINDING_MISSING",
                code.readsHyperdrive
                  ? `${file} has no "hyperdrive" binding, but the Worker reads one (\`env.<BINDING>.connectionString\`)`
                  : `${file} has no "hyperdrive" binding, but the Worker uses a database driver`,
                { location: { file }, docs: BINDING_DOCS, fix: addBindingFix(file) },
              )
            : problem(
                "warn",
                "binding.missing",
                "HDK_BINDING_MISSING",
                `${file} has no "hyperdrive" binding: the Worker's database driver connects to the database directly, without Hyperdrive`,
                {
                  location: { file },
                  docs: BINDING_DOCS,
                  fix: `Nothing breaks, but every request opens a new connection to the database from wherever the Worker runs. To go through Hyperdrive: ${addBindingFix(file)} Then give the driver \`env.HYPERDRIVE.connectionString\` instead of the database URL.`,
                },
              ),
        );
      }
    }
    const files = await readEnvFiles(dir, env.name);
    bindings.forEach((binding, index) => {
      findings.push(...lintBinding(config, env, index, binding, files, localStrings));
    });
    if (findings.length === 0 && !env.name) {
      findings.push(
        pass(
          "config",
          "no Hyperdrive binding and no database driver: nothing here for Hyperdrive (config not checked further)",
        ),
      );
    }
    if (findings.length > 0) {
      sections.push({ kind: "project", title: env.name ? `${file} [env.${env.name}]` : file, findings });
    }
  }

  sections.push(...code.sections);
  return { config: file, sections, localStrings };
}

/** The other configuration files beside the one wrangler reads, when they hold Hyperdrive bindings. */
async function ignoredBindings(dir: string, used: string): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const other of CONFIG_FILES) {
    if (other === used || !existsSync(join(dir, other))) continue;
    let names: string[];
    try {
      const config = await readConfig(dir, other);
      names = environments(config).flatMap((env) =>
        (Array.isArray(env.hyperdrive) ? env.hyperdrive : []).map((b: unknown) =>
          String((b as { binding?: unknown } | null)?.binding ?? "?"),
        ),
      );
    } catch {
      continue; // an ignored file that does not parse is not wrangler's concern either
    }
    if (names.length === 0) continue;
    findings.push(
      problem(
        "warn",
        "config.ignored",
        "HDK_DOCTOR_CONFIG_IGNORED",
        `${other} holds Hyperdrive bindings (${[...new Set(names)].join(", ")}), but wrangler reads ${used} and ignores it`,
        { location: { file: other } },
      ),
    );
  }
  return findings;
}

/**
 * Drivers the source imports that neither the Worker, the workspace packages it imports nor the workspace root
 * declare: the version checks cannot see them, and the bundle gets whichever copy happens to be installed.
 */
function undeclaredDrivers(dir: string, packageDirs: readonly string[], imported: ReadonlySet<string>): Finding[] {
  const declared = new Set(
    [dir, ...packageDirs, findWorkspace(dir).root].flatMap((at) => Object.keys(dependencies(readPackageJson(at)))),
  );
  return [...imported]
    .filter((driver) => !declared.has(driver))
    .map((driver) =>
      problem(
        "warn",
        "driver.declared",
        "HDK_DOCTOR_DRIVER_UNDECLARED",
        `${driver} is imported by the Worker's source but not declared in package.json: its version cannot be checked`,
        { location: { file: "package.json" } },
      ),
    );
}

/** The `hyperdrive` entry to add, in the configuration's own format. */
function bindingEntry(file: string, table = "hyperdrive"): string {
  return file.endsWith(".toml")
    ? `\`[[${table}]]\` with \`binding = "HYPERDRIVE"\`, \`id = "<id>"\` and \`localConnectionString = "<local database URL>"\``
    : `\`"hyperdrive": [{ "binding": "HYPERDRIVE", "id": "<id>", "localConnectionString": "<local database URL>" }]\``;
}

/** The doctor's fix for a missing binding: core's names an adapter option and bindings listed in its message. */
function addBindingFix(file: string): string {
  return `Create a Hyperdrive configuration (\`wrangler hyperdrive create <name> --connection-string="postgres://user:password@host:5432/db"\`, or \`mysql://…:3306/…\`) and add ${bindingEntry(file)} to ${file}, with the id it prints.`;
}

function missingInEnvFix(file: string, env: string): string {
  const where = file.endsWith(".toml")
    ? bindingEntry(file, `env.${env}.hyperdrive`)
    : `\`"env": { "${env}": { "hyperdrive": [{ "binding": "HYPERDRIVE", "id": "<id>" }] } }\``;
  return `Repeat the top level's Hyperdrive bindings in the environment, ${where} in ${file}, with the same binding names (the same id, or one configuration per environment).`;
}

/** The drivers of the Worker and of the workspace packages it imports, and its source. */
async function lintCode(
  dir: string,
  configFile: string,
  mainEntries: unknown[],
  hasBindings: boolean,
): Promise<{
  sections: Section[];
  usesDatabase: boolean;
  readsHyperdrive: boolean;
  read: boolean;
  noDriver: boolean;
}> {
  const sections: Section[] = [];
  const mains = mainEntries.filter((main): main is string => typeof main === "string");
  const declared = await driverVersions(dir);
  const source = await lintSources(dir, configFile, mains, { usesDatabase: hasBindings || declared.length > 0 });
  // Judged by what the Worker uses: a driver only a migration script imports is not the Worker's.
  const used = source.drivers;
  const drivers = await lintDrivers(dir, { only: used });
  for (const packageDir of source.packageDirs) {
    for (const finding of await lintDrivers(packageDir, { only: used, dev: false })) {
      const where = relative(dir, packageDir);
      drivers.push({
        ...finding,
        title: `${finding.title} in ${where}`,
        ...(finding.location ? { location: { file: join(where, finding.location.file) } } : {}),
      });
    }
  }
  drivers.push(...undeclaredDrivers(dir, source.packageDirs, source.imported));
  if (drivers.length > 0) sections.push({ kind: "project", title: "package.json", findings: drivers });
  if (source.findings.length > 0) sections.push({ kind: "project", title: "source", findings: source.findings });
  const usesDatabase = drivers.length > 0 || source.usesDatabase;
  // `drivers` is set only when the whole source was read and nothing in it works over "any" driver.
  const noDriver = !usesDatabase && source.drivers !== undefined && source.drivers.size === 0;
  return { sections, usesDatabase, readsHyperdrive: source.readsHyperdrive, read: source.read, noDriver };
}
