/** Reads a Wrangler configuration the way wrangler does: `jsonc-parser` for JSON(C), `smol-toml` for TOML. */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { findNodeAtLocation, type Node, type ParseError, parseTree, printParseErrorCode } from "jsonc-parser";
import { parse as parseToml, TomlError } from "smol-toml";
import type { Location } from "./findings.ts";

/** Wrangler's own order of preference. */
export const CONFIG_FILES = ["wrangler.json", "wrangler.jsonc", "wrangler.toml"] as const;

export type JsonPath = readonly (string | number)[];

export interface WranglerConfig {
  /** The file name, relative to the project directory. */
  file: string;
  raw: Record<string, unknown>;
  /** Where a value sits in the file: line and column in JSON(C), the line in TOML. */
  locate(path: JsonPath): Location;
}

export class ConfigParseError extends Error {
  override readonly name = "ConfigParseError";
  readonly location: Location;

  constructor(message: string, location: Location) {
    super(message);
    this.location = location;
  }
}

export function findConfig(dir: string): string | undefined {
  return CONFIG_FILES.find((name) => existsSync(join(dir, name)));
}

export async function readConfig(dir: string, file: string): Promise<WranglerConfig> {
  const text = await readFile(join(dir, file), "utf8");
  if (file.endsWith(".toml")) {
    let raw: Record<string, unknown>;
    try {
      raw = parseToml(text) as Record<string, unknown>;
    } catch (error) {
      if (error instanceof TomlError) {
        throw new ConfigParseError(error.message.split("\n")[0] ?? "invalid TOML", {
          file,
          line: error.line,
          column: error.column,
        });
      }
      throw error;
    }
    const lines = tomlLines(text);
    return {
      file,
      raw,
      locate: (path) => {
        // The value's own line, else its nearest enclosing table or key that has one.
        for (let length = path.length; length > 0; length--) {
          const line = lines.get(path.slice(0, length).join("\0"));
          if (line !== undefined) return { file, line };
        }
        return { file };
      },
    };
  }
  const errors: ParseError[] = [];
  const tree = parseTree(text, errors, { allowTrailingComma: true, disallowComments: false });
  const first = errors[0];
  if (first || !tree || tree.type !== "object") {
    const at = first ? position(text, first.offset) : { line: 1, column: 1 };
    const reason = first ? printParseErrorCode(first.error) : "the top level is not an object";
    throw new ConfigParseError(`${reason}`, { file, ...at });
  }
  return {
    file,
    raw: toValue(tree) as Record<string, unknown>,
    locate: (path) => {
      const node = findNodeAtLocation(tree, [...path]);
      return node ? { file, ...position(text, node.offset) } : { file };
    },
  };
}

/** TOML key segments: `a.b`, `"a.b".c`, `'x'`. */
function tomlKey(text: string): string[] {
  const parts: string[] = [];
  for (const match of text.matchAll(/\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*(?:\.|$)/g)) {
    parts.push(match[1] ?? match[2] ?? match[3] ?? "");
  }
  return parts;
}

/**
 * Where each table, array-of-tables entry and key starts in a TOML file (smol-toml keeps no positions): a line scan
 * of the headers (`[env.staging]`, `[[hyperdrive]]`, counted per array) and `key =` lines. Inline tables and arrays
 * point at the line of their key.
 */
function tomlLines(text: string): Map<string, number> {
  const lines = new Map<string, number>();
  const counts = new Map<string, number>();
  let table: (string | number)[] = [];
  let inMultiline: string | undefined;
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    const number = index + 1;
    if (inMultiline) {
      if (line.includes(inMultiline)) inMultiline = undefined;
      return;
    }
    if (line === "" || line.startsWith("#")) return;
    const arrayHeader = /^\[\[(.+?)\]\]/.exec(line);
    const header = arrayHeader ? undefined : /^\[(.+?)\]/.exec(line);
    if (arrayHeader) {
      const key = tomlKey(arrayHeader[1] as string);
      const id = key.join("\0");
      const count = counts.get(id) ?? 0;
      counts.set(id, count + 1);
      if (!lines.has(id)) lines.set(id, number);
      table = [...key, count];
      lines.set(table.join("\0"), number);
      return;
    }
    if (header) {
      table = tomlKey(header[1] as string);
      if (!lines.has(table.join("\0"))) lines.set(table.join("\0"), number);
      return;
    }
    const assignment = /^((?:"(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_.\s-])+?)\s*=\s*(.*)$/.exec(line);
    if (assignment) {
      const key = [...table, ...tomlKey(assignment[1] as string)];
      lines.set(key.join("\0"), number);
      const value = assignment[2] ?? "";
      for (const quote of ['"""', "'''"]) {
        if (value.startsWith(quote) && !value.slice(3).includes(quote)) inMultiline = quote;
      }
    }
  });
  return lines;
}

function toValue(node: Node): unknown {
  switch (node.type) {
    case "object":
      return Object.fromEntries(
        (node.children ?? []).map((property) => {
          const [key, value] = property.children ?? [];
          return [key?.value as string, value ? toValue(value) : undefined];
        }),
      );
    case "array":
      return (node.children ?? []).map(toValue);
    default:
      return node.value;
  }
}

function position(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return { line, column: offset - before.lastIndexOf("\n") };
}

/** One environment as wrangler sees it: inheritable keys fall back to the top level, bindings do not. */
export interface Environment {
  /** `undefined` for the top level. */
  name?: string;
  /** Where this environment's keys live in the file. */
  path: JsonPath;
  compatibilityDate?: unknown;
  compatibilityFlags?: unknown;
  /** The environment's own `hyperdrive` array: wrangler does not inherit bindings from the top level. */
  hyperdrive?: unknown;
  /** Where `compatibility_date` / `compatibility_flags` were read (the environment's or the top level's). */
  datePath: JsonPath;
  flagsPath: JsonPath;
  main?: unknown;
}

export function environments(config: WranglerConfig): Environment[] {
  const top = config.raw;
  const list: Environment[] = [
    {
      path: [],
      compatibilityDate: top.compatibility_date,
      compatibilityFlags: top.compatibility_flags,
      hyperdrive: top.hyperdrive,
      datePath: ["compatibility_date"],
      flagsPath: ["compatibility_flags"],
      main: top.main,
    },
  ];
  const envs = top.env;
  if (envs && typeof envs === "object" && !Array.isArray(envs)) {
    for (const [name, value] of Object.entries(envs as Record<string, unknown>)) {
      const env = (value && typeof value === "object" ? value : {}) as Record<string, unknown>;
      const own = (key: string) => key in env;
      list.push({
        name,
        path: ["env", name],
        compatibilityDate: own("compatibility_date") ? env.compatibility_date : top.compatibility_date,
        compatibilityFlags: own("compatibility_flags") ? env.compatibility_flags : top.compatibility_flags,
        hyperdrive: env.hyperdrive,
        datePath: own("compatibility_date") ? ["env", name, "compatibility_date"] : ["compatibility_date"],
        flagsPath: own("compatibility_flags") ? ["env", name, "compatibility_flags"] : ["compatibility_flags"],
        main: own("main") ? env.main : top.main,
      });
    }
  }
  return list;
}
