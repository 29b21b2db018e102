/**
 * The source patterns the seeds warn about, found on a real syntax tree (Babel's parser: pure JavaScript, so the CLI
 * installs on every platform without a native binary, and it reads TypeScript and JSX as they are written).
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { extname, join, relative } from "node:path";
import { type ParserPlugin, parse } from "@babel/parser";
import { type Finding, type FindingCode, type Location, problem } from "./findings.ts";

type Driver = "pg" | "postgres" | "mysql2" | "mysql";

const MODULES: Record<string, Driver> = {
  pg: "pg",
  postgres: "postgres",
  mysql2: "mysql2",
  "mysql2/promise": "mysql2",
  mysql: "mysql",
};

const DRIVER_LABEL: Record<Driver, string> = {
  pg: "node-postgres",
  postgres: "Postgres.js",
  mysql2: "mysql2",
  mysql: "mysql",
};

/** What each driver exports that opens connections. */
const FACTORIES: Record<Driver, { construct: readonly string[]; call: readonly string[] }> = {
  pg: { construct: ["Client", "Pool"], call: [] },
  postgres: { construct: [], call: [] }, // the default export is the factory itself
  mysql2: { construct: [], call: ["createConnection", "createPool", "createPoolCluster"] },
  mysql: { construct: [], call: ["createConnection", "createPool", "createPoolCluster"] },
};

const EXTENSIONS = new Set([".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs"]);
const SKIP_DIRS = new Set([
  "node_modules",
  "dist",
  "build",
  ".wrangler",
  ".git",
  "coverage",
  "test",
  "tests",
  "__tests__",
]);
const MAX_FILES = 5_000;
const MAX_BYTES = 1_000_000;

// Babel's AST, structurally: the walker only needs `type`, positions and child nodes.
interface AstNode {
  type: string;
  loc?: { start: { line: number; column: number } } | null;
  [key: string]: unknown;
}

interface ImportBinding {
  driver: Driver;
  /** `default`, `*` or the imported name. */
  imported: string;
}

interface Creation {
  driver: Driver;
  /** How the code spelled it, for the message: `new Client()`, `postgres()`, `mysql.createConnection()`. */
  spelled: string;
  node: AstNode;
}

const isNode = (value: unknown): value is AstNode =>
  typeof value === "object" && value !== null && typeof (value as { type?: unknown }).type === "string";

// Keys that never hold code that runs: positions, comments, type annotations.
const SKIP_KEYS = new Set([
  "loc",
  "start",
  "end",
  "range",
  "extra",
  "leadingComments",
  "trailingComments",
  "innerComments",
  "typeAnnotation",
  "returnType",
  "typeParameters",
  "superTypeParameters",
  "typeArguments",
]);

function* childrenOf(node: AstNode): Generator<AstNode> {
  for (const key of Object.keys(node)) {
    if (SKIP_KEYS.has(key)) continue;
    const value = node[key];
    if (Array.isArray(value)) {
      for (const item of value) if (isNode(item)) yield item;
    } else if (isNode(value)) {
      yield value;
    }
  }
}

const FUNCTIONS = new Set([
  "FunctionDeclaration",
  "FunctionExpression",
  "ArrowFunctionExpression",
  "ObjectMethod",
  "ClassMethod",
  "ClassPrivateMethod",
]);

/** Wrappers that do not change which value an expression is. */
function unwrap(node: AstNode | undefined): AstNode | undefined {
  let current = node;
  while (
    current &&
    [
      "AwaitExpression",
      "ParenthesizedExpression",
      "TSAsExpression",
      "TSSatisfiesExpression",
      "TSNonNullExpression",
    ].includes(current.type)
  ) {
    current = (current.argument ?? current.expression) as AstNode | undefined;
  }
  return current;
}

function nameOf(node: unknown): string | undefined {
  if (!isNode(node)) return undefined;
  if (node.type === "Identifier") return node.name as string;
  if (node.type === "StringLiteral") return node.value as string;
  return undefined;
}

/** Names a pattern declares (`a`, `{ a, b: c }`, `[d, ...e]`, `f = 1`). */
function patternNames(pattern: unknown, out: Set<string>): void {
  if (!isNode(pattern)) return;
  switch (pattern.type) {
    case "Identifier":
      out.add(pattern.name as string);
      break;
    case "ObjectPattern":
      for (const property of pattern.properties as AstNode[]) {
        patternNames(property.type === "RestElement" ? property.argument : property.value, out);
      }
      break;
    case "ArrayPattern":
      for (const element of pattern.elements as (AstNode | null)[]) patternNames(element, out);
      break;
    case "AssignmentPattern":
      patternNames(pattern.left, out);
      break;
    case "RestElement":
      patternNames(pattern.argument, out);
      break;
    case "TSParameterProperty":
      patternNames(pattern.parameter, out);
      break;
  }
}

/** Every name a function declares (parameters and declarations anywhere in its body, not in nested functions). */
function declaredIn(fn: AstNode): Set<string> {
  const names = new Set<string>();
  for (const param of (fn.params as AstNode[] | undefined) ?? []) patternNames(param, names);
  const visit = (node: AstNode) => {
    switch (node.type) {
      case "VariableDeclarator":
        patternNames(node.id, names);
        break;
      case "FunctionDeclaration":
      case "ClassDeclaration":
        patternNames(node.id, names);
        return; // a nested function's own names are its own
      case "CatchClause":
        patternNames(node.param, names);
        break;
    }
    if (FUNCTIONS.has(node.type)) return;
    for (const child of childrenOf(node)) visit(child);
  };
  if (isNode(fn.body)) visit(fn.body);
  return names;
}

function pluginsFor(file: string): ParserPlugin[] {
  const ext = extname(file);
  if (ext === ".tsx") return ["typescript", "jsx"];
  if (ext === ".ts" || ext === ".mts" || ext === ".cts") return ["typescript"];
  return ["jsx"];
}

/** Checks one file's text. `file` is the path shown in findings. */
export function lintSource(file: string, text: string): Finding[] {
  let ast: AstNode;
  try {
    ast = parse(text, {
      sourceType: "module",
      plugins: pluginsFor(file),
      errorRecovery: false,
      allowAwaitOutsideFunction: true,
    }) as unknown as AstNode;
  } catch (error) {
    const loc = (error as { loc?: { line: number; column: number } }).loc;
    return [
      problem(
        "warn",
        "source.parse",
        "HDK_DOCTOR_SOURCE_UNREADABLE",
        `${file} does not parse: ${(error as Error).message}`,
        {
          location: { file, ...(loc ? { line: loc.line, column: loc.column + 1 } : {}) },
        },
      ),
    ];
  }
  const program = ast.program as AstNode;
  const imports = new Map<string, ImportBinding>();
  // Module-level `let`/`var`: what a handler could assign a client to and so keep for the next request.
  const moduleVariables = new Set<string>();
  for (const statement of program.body as AstNode[]) {
    if (statement.type === "ImportDeclaration") {
      const driver = MODULES[(statement.source as AstNode).value as string];
      if (!driver || statement.importKind === "type") continue;
      for (const specifier of statement.specifiers as AstNode[]) {
        if (specifier.importKind === "type") continue;
        const local = nameOf(specifier.local);
        if (!local) continue;
        const imported =
          specifier.type === "ImportDefaultSpecifier"
            ? "default"
            : specifier.type === "ImportNamespaceSpecifier"
              ? "*"
              : (nameOf(specifier.imported) ?? "default");
        imports.set(local, { driver, imported });
      }
    }
    const declaration =
      statement.type === "ExportNamedDeclaration" && isNode(statement.declaration) ? statement.declaration : statement;
    if (declaration.type === "VariableDeclaration" && declaration.kind !== "const") {
      for (const declarator of declaration.declarations as AstNode[]) patternNames(declarator.id, moduleVariables);
    }
  }
  if (imports.size === 0) return [];

  const findings: Finding[] = [];
  const at = (node: AstNode): Location => ({
    file,
    ...(node.loc ? { line: node.loc.start.line, column: node.loc.start.column + 1 } : {}),
  });
  const where = (node: AstNode) => {
    const location = at(node);
    return `${file}:${location.line ?? "?"}:${location.column ?? "?"}`;
  };
  const report = (status: "warn" | "fail", check: string, code: FindingCode, node: AstNode, title: string) =>
    findings.push(problem(status, check, code, `${where(node)}: ${title}`, { location: at(node) }));

  const creation = (node: AstNode | undefined): Creation | undefined => {
    const expr = unwrap(node);
    if (!expr || (expr.type !== "NewExpression" && expr.type !== "CallExpression")) return undefined;
    const callee = expr.callee as AstNode;
    const isNew = expr.type === "NewExpression";
    if (callee.type === "Identifier") {
      const binding = imports.get(callee.name as string);
      if (!binding) return undefined;
      const factories = FACTORIES[binding.driver];
      const name = binding.imported;
      if (binding.driver === "postgres" && !isNew && name === "default") {
        return { driver: "postgres", spelled: `${callee.name}()`, node: expr };
      }
      if ((isNew ? factories.construct : factories.call).includes(name)) {
        return { driver: binding.driver, spelled: `${isNew ? "new " : ""}${callee.name}()`, node: expr };
      }
      return undefined;
    }
    if (callee.type === "MemberExpression" && !callee.computed) {
      const object = nameOf(callee.object);
      const property = nameOf(callee.property);
      const binding = object ? imports.get(object) : undefined;
      if (!binding || !property || (binding.imported !== "default" && binding.imported !== "*")) return undefined;
      const factories = FACTORIES[binding.driver];
      if ((isNew ? factories.construct : factories.call).includes(property)) {
        return { driver: binding.driver, spelled: `${isNew ? "new " : ""}${object}.${property}()`, node: expr };
      }
    }
    return undefined;
  };

  // Names holding a mysql2 connection or pool, wherever they are declared: `.execute()` on them is refused.
  const mysql2Handles = new Set<string>();
  const scopes: Set<string>[] = [];
  const shadowed = (name: string) => scopes.some((scope) => scope.has(name));

  const checkOptions = (made: Creation) => {
    const args = (made.node.arguments as AstNode[]) ?? [];
    const options = args.find((arg) => arg.type === "ObjectExpression");
    const property = (name: string) =>
      (options?.properties as AstNode[] | undefined)?.find(
        (p) => p.type === "ObjectProperty" && !p.computed && nameOf(p.key) === name,
      );
    if (made.driver === "postgres") {
      const prepare = property("prepare");
      const value = prepare?.value as AstNode | undefined;
      if (prepare && value?.type === "BooleanLiteral" && value.value === false) {
        report(
          "warn",
          "source.prepare-false",
          "HDK_PREPARE_FALSE_DEFEATS_CACHING",
          prepare,
          `${made.spelled} with \`prepare: false\`: Hyperdrive cannot cache these queries`,
        );
      }
    }
    if (made.driver === "mysql2") {
      const first = args[0];
      const disableEval = property("disableEval");
      const value = disableEval && (disableEval.value as AstNode);
      const hasSpread = (options?.properties as AstNode[] | undefined)?.some((p) => p.type === "SpreadElement");
      let missing: string | undefined;
      if (value?.type === "BooleanLiteral" && value.value === false) missing = "sets `disableEval: false`";
      else if (!disableEval && options && !hasSpread) missing = "has no `disableEval: true`";
      else if (!options && (first?.type === "StringLiteral" || first?.type === "TemplateLiteral")) {
        missing = "takes a URL and no `disableEval: true`";
      }
      if (missing) {
        report(
          "fail",
          "source.mysql2-eval",
          "HDK_EVAL_DISALLOWED",
          made.node,
          `${made.spelled} ${missing}: mysql2 then compiles its row parsers with eval, which Workers refuse`,
        );
      }
    }
  };

  const visit = (node: AstNode, depth: number) => {
    const made = creation(node);
    if (made && made.node === node) {
      checkOptions(made);
      if (depth === 0) {
        report(
          "fail",
          "source.module-scope",
          "HDK_GLOBAL_SCOPE",
          node,
          `${made.spelled} creates a ${DRIVER_LABEL[made.driver]} client at module scope, shared by every request`,
        );
      }
    }
    switch (node.type) {
      case "VariableDeclarator": {
        const made = creation(node.init as AstNode | undefined);
        const name = nameOf(node.id);
        if (made?.driver === "mysql2" && name) mysql2Handles.add(name);
        break;
      }
      case "AssignmentExpression": {
        const made = creation(node.right as AstNode);
        const name = nameOf(node.left);
        if (made && name) {
          if (made.driver === "mysql2") mysql2Handles.add(name);
          if (depth > 0 && moduleVariables.has(name) && !shadowed(name)) {
            report(
              "fail",
              "source.cross-request",
              "HDK_CROSS_REQUEST_IO",
              node,
              `\`${name}\` is a module-level variable assigned a ${DRIVER_LABEL[made.driver]} client (${made.spelled}) inside a function: the next request reuses it`,
            );
          }
        }
        break;
      }
      case "CallExpression": {
        const callee = node.callee as AstNode;
        if (callee.type === "MemberExpression" && nameOf(callee.property) === "execute" && !callee.computed) {
          const object = unwrap(callee.object as AstNode);
          const name = nameOf(object);
          const direct = creation(object);
          if ((name && mysql2Handles.has(name)) || direct?.driver === "mysql2") {
            report(
              "fail",
              "source.mysql2-execute",
              "HDK_HYPERDRIVE_MYSQL_PREPARE_UNSUPPORTED",
              node,
              `\`${name ?? direct?.spelled}.execute()\` sends a prepared statement, which Hyperdrive refuses`,
            );
          }
        }
        break;
      }
    }
    const opensScope = FUNCTIONS.has(node.type);
    // Instance field initialisers run per construction, like a function body; static ones run with the class.
    const runsLater =
      opensScope || ((node.type === "ClassProperty" || node.type === "ClassPrivateProperty") && !node.static);
    if (opensScope) scopes.push(declaredIn(node));
    for (const child of childrenOf(node)) visit(child, runsLater ? depth + 1 : depth);
    if (opensScope) scopes.pop();
  };
  visit(program, 0);
  return findings;
}

async function collect(dir: string, out: string[]): Promise<void> {
  let entries: import("node:fs").Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    if (out.length >= MAX_FILES) return;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name) && !entry.name.startsWith(".")) await collect(path, out);
    } else if (
      entry.isFile() &&
      EXTENSIONS.has(extname(entry.name)) &&
      !/\.(test|spec)\.[cm]?[jt]sx?$/.test(entry.name) &&
      !/\.d\.[cm]?ts$/.test(entry.name)
    ) {
      out.push(path);
    }
  }
}

/** Checks every source file under `roots` (tests, builds and dependencies excluded). */
export async function lintSources(
  projectDir: string,
  roots: readonly string[],
): Promise<{ files: number; findings: Finding[] }> {
  const files: string[] = [];
  for (const root of roots) await collect(root, files);
  const findings: Finding[] = [];
  for (const path of [...new Set(files)].sort()) {
    if ((await stat(path)).size > MAX_BYTES) continue;
    findings.push(...lintSource(relative(projectDir, path), await readFile(path, "utf8")));
  }
  return { files: files.length, findings };
}
