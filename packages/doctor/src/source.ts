/**
 * The source patterns the seeds warn about, found on a real syntax tree (Babel's parser: pure JavaScript, so the CLI
 * installs on every platform without a native binary, and it reads TypeScript, decorators and JSX as they are written).
 *
 * A "client" here is anything that holds database connections: a driver's client or pool, and the ORMs around one
 * (Drizzle, Prisma with a driver adapter, Kysely with a SQL dialect). Making one at module scope, or keeping one made
 * in a handler where the next request finds it (a module variable, `globalThis`, a static field, a module-level Map,
 * `env`), is the #1 Hyperdrive mistake.
 */
import { extname } from "node:path";
import { type ParserPlugin, parse } from "@babel/parser";
import { type Finding, type FindingCode, type Location, problem } from "./findings.ts";

type Driver = "pg" | "postgres" | "mysql2" | "mysql";

/** What a module exports that makes a client: `call` for `f()`, `construct` for `new F()`, by imported name. */
interface Maker {
  label: string;
  /** The driver whose options apply (`ssl`, `max`, `disableEval`, `prepare`). */
  driver?: Driver;
  construct: readonly string[];
  call: readonly string[];
  /** The default export itself is called (`postgres()`). */
  callDefault?: boolean;
}

const DRIVERS: Record<Driver, Maker> = {
  pg: { label: "node-postgres", driver: "pg", construct: ["Client", "Pool"], call: [] },
  postgres: { label: "Postgres.js", driver: "postgres", construct: [], call: [], callDefault: true },
  mysql2: {
    label: "mysql2",
    driver: "mysql2",
    construct: [],
    call: ["createConnection", "createPool", "createPoolCluster"],
  },
  mysql: {
    label: "mysql",
    driver: "mysql",
    construct: [],
    call: ["createConnection", "createPool", "createPoolCluster"],
  },
};

const DRIZZLE: Maker = { label: "Drizzle", construct: [], call: ["drizzle"] };
const PRISMA_ADAPTER: Maker = { label: "Prisma", construct: ["PrismaPg", "PrismaMariaDb"], call: [] };
const KYSELY_DIALECT: Maker = {
  label: "Kysely",
  construct: ["PostgresDialect", "MysqlDialect", "PostgresJSDialect"],
  call: [],
};

/** Module name → what it makes. Drizzle only over the TCP drivers Hyperdrive serves (not its HTTP drivers). */
const MODULES: Record<string, Maker> = {
  pg: DRIVERS.pg,
  postgres: DRIVERS.postgres,
  mysql2: DRIVERS.mysql2,
  "mysql2/promise": DRIVERS.mysql2,
  mysql: DRIVERS.mysql,
  "drizzle-orm/postgres-js": DRIZZLE,
  "drizzle-orm/node-postgres": DRIZZLE,
  "drizzle-orm/mysql2": DRIZZLE,
  "@prisma/adapter-pg": PRISMA_ADAPTER,
  "@prisma/adapter-mariadb": PRISMA_ADAPTER,
  kysely: { ...KYSELY_DIALECT, construct: ["PostgresDialect", "MysqlDialect"] },
  "kysely-postgres-js": { ...KYSELY_DIALECT, construct: ["PostgresJSDialect"] },
};

/** Modules whose import alone means the Worker talks to a database through Hyperdrive's drivers. */
export function isDatabaseModule(specifier: string): boolean {
  // Not `kysely` or `@prisma/client` alone: over D1 or an HTTP driver they are no business of Hyperdrive's.
  return (specifier in MODULES && specifier !== "kysely") || specifier.startsWith("@hyperdrive-kit/");
}

/** The driver a specifier imports by its own name (`pg`, `mysql2/promise`), not through an ORM or an adapter. */
export function directDriver(specifier: string): Driver | undefined {
  return MODULES[specifier]?.driver;
}

/**
 * The driver a module uses underneath (`drizzle-orm/postgres-js` is Postgres.js), `"any"` for modules that work over
 * whichever driver is installed, undefined for the rest.
 */
export function driverOfModule(specifier: string): Driver | "any" | undefined {
  const direct = MODULES[specifier]?.driver;
  if (direct) return direct;
  const known: Record<string, Driver> = {
    "drizzle-orm/postgres-js": "postgres",
    "drizzle-orm/node-postgres": "pg",
    "drizzle-orm/mysql2": "mysql2",
    "@prisma/adapter-pg": "pg",
    "kysely-postgres-js": "postgres",
    "@hyperdrive-kit/pg": "pg",
    "@hyperdrive-kit/postgres": "postgres",
    "@hyperdrive-kit/mysql2": "mysql2",
    "@hyperdrive-kit/mysql": "mysql",
  };
  if (specifier in known) return known[specifier];
  return isDatabaseModule(specifier) ? "any" : undefined;
}

/** Workers allow six simultaneous outgoing connections per request (core's MAX_CONNECTIONS). */
const MAX_CONNECTIONS = 6;

// Babel's AST, structurally: the walker only needs `type`, positions and child nodes.
export interface AstNode {
  type: string;
  loc?: { start: { line: number; column: number } } | null;
  [key: string]: unknown;
}

interface Creation {
  label: string;
  driver?: Driver;
  /** How the code spelled it, for the message: `new Client()`, `postgres()`, `drizzle()`, `getDb()`. */
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
  "decorators",
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

function pluginSets(file: string): ParserPlugin[][] {
  const ext = extname(file);
  const base: ParserPlugin[] =
    ext === ".tsx" ? ["typescript", "jsx"] : [".ts", ".mts", ".cts"].includes(ext) ? ["typescript"] : ["jsx"];
  // TypeScript's experimental decorators (parameters too) first, then the standard ones (`export @dec class`).
  return [
    [...base, "decorators-legacy"],
    [...base, ["decorators", { allowCallParenthesized: true }]],
  ];
}

export type Parsed = { ast: AstNode } | { error: Finding };

/** Parses one file, or says where it does not parse. */
export function parseSource(file: string, text: string): Parsed {
  let first: unknown;
  for (const plugins of pluginSets(file)) {
    try {
      const ast = parse(text, { sourceType: "unambiguous", plugins, allowAwaitOutsideFunction: true });
      return { ast: ast as unknown as AstNode };
    } catch (error) {
      first ??= error;
    }
  }
  const loc = (first as { loc?: { line: number; column: number } }).loc;
  return {
    error: problem(
      "warn",
      "source.parse",
      "HDK_DOCTOR_SOURCE_UNREADABLE",
      `${file} does not parse: ${(first as Error).message}`,
      { location: { file, ...(loc ? { line: loc.line, column: loc.column + 1 } : {}) } },
    ),
  };
}

/** The module specifiers a file imports, re-exports, `import()`s or `require()`s (string literals only). */
export function importsOf(ast: AstNode): string[] {
  const out: string[] = [];
  const visit = (node: AstNode) => {
    if (
      (node.type === "ImportDeclaration" ||
        node.type === "ExportNamedDeclaration" ||
        node.type === "ExportAllDeclaration") &&
      isNode(node.source) &&
      node.importKind !== "type" &&
      node.exportKind !== "type"
    ) {
      out.push(node.source.value as string);
    }
    if (node.type === "ImportExpression" && isNode(node.source) && node.source.type === "StringLiteral") {
      out.push(node.source.value as string);
    }
    if (node.type === "CallExpression") {
      const callee = node.callee as AstNode;
      const first = (node.arguments as AstNode[])[0];
      if ((callee.type === "Import" || nameOf(callee) === "require") && first?.type === "StringLiteral") {
        out.push(first.value as string);
      }
    }
    for (const child of childrenOf(node)) visit(child);
  };
  visit(ast);
  return out;
}

/**
 * Whether a file reads a Hyperdrive binding: `env.HYPERDRIVE.connectionString` (any binding's, however `env` is
 * reached), or uses hyperdrive-kit (whose adapters take the binding). A Worker that does neither and still uses a
 * driver connects to its database some other way (a `DATABASE_URL`).
 */
export function readsHyperdrive(ast: AstNode): boolean {
  let found = false;
  const visit = (node: AstNode) => {
    if (found) return;
    if (
      (node.type === "MemberExpression" || node.type === "OptionalMemberExpression") &&
      !node.computed &&
      nameOf(node.property) === "connectionString" &&
      ["MemberExpression", "OptionalMemberExpression"].includes((node.object as AstNode).type)
    ) {
      found = true;
      return;
    }
    for (const child of childrenOf(node)) visit(child);
  };
  visit(ast);
  return found || importsOf(ast).some((specifier) => specifier.startsWith("@hyperdrive-kit/"));
}

/** What a file's imports bring in: local name → the maker and the name it was imported as. */
interface ImportBinding {
  maker: Maker;
  /** `default`, `*` or the imported name. */
  imported: string;
}

/** `require("pg")`, `require("pg").Pool`: the module a CommonJS require names. */
function requiredModule(node: AstNode | undefined): { module: string; member?: string } | undefined {
  const expr = unwrap(node);
  if (!expr) return undefined;
  if (expr.type === "MemberExpression" && !expr.computed) {
    const inner = requiredModule(expr.object as AstNode);
    const member = nameOf(expr.property);
    return inner && member ? { module: inner.module, member } : undefined;
  }
  if (expr.type !== "CallExpression" || nameOf(expr.callee) !== "require") return undefined;
  const first = (expr.arguments as AstNode[])[0];
  return first?.type === "StringLiteral" ? { module: first.value as string } : undefined;
}

/** Module-level functions of another file that make a client, by the name that file exports them under. */
export type ExportedMakers = ReadonlyMap<string, string>;

export interface SourceContext {
  /** For each specifier this file imports: the makers the imported file exports. */
  makersOf?: (specifier: string) => ExportedMakers | undefined;
}

export interface SourceLint {
  findings: Finding[];
  /** The functions this file exports that make a client (`export function getDb() { return drizzle(…) }`). */
  makers: Map<string, string>;
  /** Whether the file uses a database module (a driver, an ORM over one, or hyperdrive-kit). */
  usesDatabase: boolean;
}

/** Checks one file's text. `file` is the path shown in findings. */
export function lintSource(file: string, text: string, context: SourceContext = {}): Finding[] {
  const parsed = parseSource(file, text);
  if ("error" in parsed) return [parsed.error];
  return lintAst(file, parsed.ast, context).findings;
}

export function lintAst(file: string, ast: AstNode, context: SourceContext = {}): SourceLint {
  const program = ast.program as AstNode;
  const imports = new Map<string, ImportBinding>();
  // Local name → what the helper it names makes (a module function that returns a client, here or imported).
  const helpers = new Map<string, string>();
  // Every module-level binding: what a handler could store a client on (`cache.db = …`, `pools.set(…)`).
  const moduleNames = new Set<string>();
  // Module-level `let`/`var`: what a handler could assign a client to and so keep for the next request.
  const moduleVariables = new Set<string>();
  let usesDatabase = false;

  const addImport = (specifier: string, local: string, imported: string) => {
    if (isDatabaseModule(specifier)) usesDatabase = true;
    const maker = MODULES[specifier];
    if (maker) {
      imports.set(local, { maker, imported });
      return;
    }
    const helper = context.makersOf?.(specifier)?.get(imported);
    if (helper) helpers.set(local, helper);
  };

  for (const statement of program.body as AstNode[]) {
    if (statement.type === "ImportDeclaration") {
      const specifier = (statement.source as AstNode).value as string;
      if (statement.importKind === "type") continue;
      if (isDatabaseModule(specifier)) usesDatabase = true;
      for (const specifierNode of statement.specifiers as AstNode[]) {
        if (specifierNode.importKind === "type") continue;
        const local = nameOf(specifierNode.local);
        if (!local) continue;
        moduleNames.add(local);
        const imported =
          specifierNode.type === "ImportDefaultSpecifier"
            ? "default"
            : specifierNode.type === "ImportNamespaceSpecifier"
              ? "*"
              : (nameOf(specifierNode.imported) ?? "default");
        addImport(specifier, local, imported);
      }
      continue;
    }
    const declaration =
      (statement.type === "ExportNamedDeclaration" || statement.type === "ExportDefaultDeclaration") &&
      isNode(statement.declaration)
        ? statement.declaration
        : statement;
    if (declaration.type === "VariableDeclaration") {
      for (const declarator of declaration.declarations as AstNode[]) {
        const names = new Set<string>();
        patternNames(declarator.id, names);
        for (const name of names) moduleNames.add(name);
        if (declaration.kind !== "const") for (const name of names) moduleVariables.add(name);
        // CommonJS: `const pg = require("pg")`, `const { Pool } = require("pg")`, `const Pool = require("pg").Pool`.
        const required = requiredModule(declarator.init as AstNode | undefined);
        const id = declarator.id as AstNode;
        if (required) {
          if (id.type === "Identifier") addImport(required.module, id.name as string, required.member ?? "default");
          else if (id.type === "ObjectPattern") destructure(id, (local, key) => addImport(required.module, local, key));
        }
        // `const { Pool } = pg` after `import pg from "pg"`.
        const from = nameOf(unwrap(declarator.init as AstNode | undefined));
        const source = from ? imports.get(from) : undefined;
        if (source && (source.imported === "default" || source.imported === "*") && id.type === "ObjectPattern") {
          destructure(id, (local, key) => imports.set(local, { maker: source.maker, imported: key }));
        }
      }
    } else if (
      (declaration.type === "FunctionDeclaration" || declaration.type === "ClassDeclaration") &&
      isNode(declaration.id)
    ) {
      moduleNames.add(declaration.id.name as string);
    }
  }

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
    const made = (maker: Maker, spelled: string): Creation => ({
      label: maker.label,
      ...(maker.driver ? { driver: maker.driver } : {}),
      spelled,
      node: expr,
    });
    if (callee.type === "Identifier") {
      const name = callee.name as string;
      if (isNew && name === "PrismaClient" && (prismaWithAdapter || hasAdapter(expr))) {
        return { label: "Prisma", spelled: "new PrismaClient()", node: expr };
      }
      if (isNew && name === "Kysely" && kyselyWithDialect)
        return { label: "Kysely", spelled: "new Kysely()", node: expr };
      const helper = helpers.get(name);
      if (helper && !isNew && !shadowed(name)) return { label: helper, spelled: `${name}()`, node: expr };
      const binding = imports.get(name);
      if (!binding || shadowed(name)) return undefined;
      const { maker, imported } = binding;
      if (!isNew && imported === "default" && maker.callDefault) return made(maker, `${name}()`);
      if ((isNew ? maker.construct : maker.call).includes(imported))
        return made(maker, `${isNew ? "new " : ""}${name}()`);
      return undefined;
    }
    if (callee.type === "MemberExpression" && !callee.computed) {
      const object = nameOf(callee.object);
      const property = nameOf(callee.property);
      const binding = object ? imports.get(object) : undefined;
      if (!binding || !property || (binding.imported !== "default" && binding.imported !== "*")) return undefined;
      const { maker } = binding;
      if ((isNew ? maker.construct : maker.call).includes(property)) {
        return made(maker, `${isNew ? "new " : ""}${object}.${property}()`);
      }
    }
    return undefined;
  };

  // Prisma and Kysely hold connections only over a driver: with a Hyperdrive adapter or dialect in the file.
  const importedMakers = [...imports.values()].map((binding) => binding.maker);
  const prismaWithAdapter = importedMakers.includes(PRISMA_ADAPTER) || importedMakers.some((m) => m.driver);
  const kyselyWithDialect = importedMakers.some((m) => m.label === "Kysely" || m.driver);

  // Names holding a mysql2 connection or pool, wherever they are declared: `.execute()` on them is refused.
  const mysql2Handles = new Set<string>();
  // Names (in the function being walked) that hold a client made there: `const c = postgres(); db = drizzle(c)`.
  const scopes: Set<string>[] = [];
  const clientLocals: Map<string, Creation>[] = [];
  // Whether `this` is the class itself (a static method or static block) at each function level.
  const staticThis: boolean[] = [];
  // Per function level: whether its variables live as long as the module (a function run once at module scope).
  const moduleLived: boolean[] = [];
  // Functions called where they are written, at module scope (`(() => { … })()`): their bodies run at module load.
  const runsNow = new WeakSet<AstNode>();
  const calledAtModuleScope = moduleScopeCallees(program);
  // The classes being walked, innermost last: `this` in their methods is an instance (or, in a Durable Object, the
  // object, whose requests share one I/O context).
  const classes: { name?: string; durable: boolean }[] = [];
  // Per class name: a client its instances keep on `this` (`this.sql ??= postgres(u)`), reported when the module makes
  // one instance that every request shares (`const repo = new Repo()`).
  const keptOnInstance = new Map<string, { node: AstNode; made: Creation; member: string }>();
  const inDurableObject = () => classes.at(-1)?.durable === true;
  function shadowed(name: string): boolean {
    return scopes.some((scope) => scope.has(name));
  }

  /** The client an expression evaluates to: a creation, `a ?? creation`, or a local that holds one. */
  const clientValue = (node: AstNode | undefined): Creation | undefined => {
    const expr = unwrap(node);
    if (!expr) return undefined;
    const made = creation(expr);
    if (made) return made;
    if (expr.type === "LogicalExpression")
      return clientValue(expr.right as AstNode) ?? clientValue(expr.left as AstNode);
    if (expr.type === "ConditionalExpression") {
      return clientValue(expr.consequent as AstNode) ?? clientValue(expr.alternate as AstNode);
    }
    const name = nameOf(expr);
    if (name && expr.type === "Identifier") return clientLocals.at(-1)?.get(name);
    return undefined;
  };

  /** Where a handler keeps a value for the next request, or undefined: the target of an assignment or `.set()`. */
  const keptAcrossRequests = (target: AstNode): string | undefined => {
    const name = nameOf(target);
    if (target.type === "Identifier" && name) {
      const level = scopes.findLastIndex((scope) => scope.has(name));
      if (level === -1) return moduleVariables.has(name) ? `the module-level variable \`${name}\`` : undefined;
      // A closure's variable in a function run once at module scope (an IIFE, `const get = memo()`).
      return moduleLived[level] ? `the variable \`${name}\` of a function run once at module scope` : undefined;
    }
    if (target.type !== "MemberExpression" && target.type !== "OptionalMemberExpression") return undefined;
    // `c.env.SQL`, `env.DB`, `this.env.X`: the bindings object is shared by every request of the isolate.
    // In a Durable Object the `env` it was constructed with lives as long as the object: not another request's.
    const onEnv = inDurableObject() ? undefined : "`env`";
    let current: AstNode = target;
    while (current.type === "MemberExpression" || current.type === "OptionalMemberExpression") {
      const object = current.object as AstNode;
      if (nameOf(current.property) === "env" && !current.computed && current !== target) return onEnv;
      if (object.type === "Identifier" && object.name === "env") return onEnv;
      current = object;
    }
    if (current.type === "ThisExpression") return staticThis.at(-1) ? "a static field of the class" : undefined;
    const root = nameOf(current);
    if (!root || current.type !== "Identifier") return undefined;
    if (["globalThis", "global", "self", "window"].includes(root)) return `\`${root}\``;
    if (moduleNames.has(root) && !shadowed(root)) return `the module-level \`${root}\``;
    return undefined;
  };

  const checkOptions = (made: Creation) => {
    if (!made.driver) return;
    const args = (made.node.arguments as AstNode[]) ?? [];
    const options = args.find((arg) => arg.type === "ObjectExpression");
    const property = (name: string) =>
      (options?.properties as AstNode[] | undefined)?.find(
        (p) => p.type === "ObjectProperty" && !p.computed && nameOf(p.key) === name,
      );
    const literal = (name: string) => unwrap(property(name)?.value as AstNode | undefined);
    if (made.driver === "postgres") {
      const prepare = literal("prepare");
      if (prepare?.type === "BooleanLiteral" && prepare.value === false) {
        report(
          "warn",
          "source.prepare-false",
          "HDK_PREPARE_FALSE_DEFEATS_CACHING",
          property("prepare") as AstNode,
          `${made.spelled} with \`prepare: false\`: Hyperdrive cannot cache these queries`,
        );
      }
    }
    const ssl = literal("ssl");
    if (ssl && !(ssl.type === "BooleanLiteral" && ssl.value === false)) {
      report(
        "warn",
        "source.driver-options",
        "HDK_UNSAFE_OPTION",
        property("ssl") as AstNode,
        `${made.spelled} sets \`ssl\`: the Worker-to-Hyperdrive connection never uses TLS (Hyperdrive encrypts the hop to your database itself); the hyperdrive-kit adapters refuse it`,
      );
    }
    const limit = made.driver === "mysql2" || made.driver === "mysql" ? "connectionLimit" : "max";
    const max = literal(limit);
    if (max?.type === "NumericLiteral" && (max.value as number) > MAX_CONNECTIONS) {
      report(
        "warn",
        "source.driver-options",
        "HDK_UNSAFE_OPTION",
        property(limit) as AstNode,
        `${made.spelled} sets \`${limit}: ${max.value}\`, above the Workers limit of ${MAX_CONNECTIONS} simultaneous connections per request; the hyperdrive-kit adapters refuse it`,
      );
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

  /** `this.sql = postgres()` in a method, or an instance field `sql = postgres()`: kept by each instance. */
  const keepOnInstance = (node: AstNode, target: AstNode, made: Creation) => {
    const owner = classes.at(-1);
    if (!owner?.name || owner.durable || staticThis.at(-1) || keptOnInstance.has(owner.name)) return;
    const isThis = target.type === "MemberExpression" && (target.object as AstNode).type === "ThisExpression";
    const member = isThis && !target.computed ? nameOf(target.property) : undefined;
    if (member) keptOnInstance.set(owner.name, { node, made, member });
  };

  const crossRequest = (node: AstNode, made: Creation, place: string) =>
    report(
      "fail",
      "source.cross-request",
      "HDK_CROSS_REQUEST_IO",
      node,
      `${made.spelled} (${made.label}) is kept in ${place} inside a function: the next request reuses it`,
    );

  const visit = (node: AstNode, depth: number, insideModuleCreation: boolean) => {
    const made = creation(node);
    let inside = insideModuleCreation;
    if (made && made.node === node) {
      checkOptions(made);
      if (depth === 0 && !insideModuleCreation) {
        report(
          "fail",
          "source.module-scope",
          "HDK_GLOBAL_SCOPE",
          node,
          `${made.spelled} creates a ${made.label} client at module scope, shared by every request`,
        );
      }
      // The outermost creation at module scope is the finding: `drizzle(postgres(url))` is one client, not two.
      if (depth === 0) inside = true;
    }
    switch (node.type) {
      case "ClassProperty": {
        const made = node.static ? undefined : clientValue(node.value as AstNode | undefined);
        const key = nameOf(node.key);
        if (made && key && !node.computed) {
          keepOnInstance(
            node,
            { type: "MemberExpression", object: { type: "ThisExpression" }, property: node.key } as AstNode,
            made,
          );
        }
        break;
      }
      case "VariableDeclarator": {
        const made = clientValue(node.init as AstNode | undefined);
        const name = nameOf(node.id);
        if (made?.driver === "mysql2" && name) mysql2Handles.add(name);
        if (made && name && depth > 0) clientLocals.at(-1)?.set(name, made);
        break;
      }
      case "AssignmentExpression": {
        const made = clientValue(node.right as AstNode);
        const name = nameOf(node.left);
        if (made) {
          if (made.driver === "mysql2" && name) mysql2Handles.add(name);
          const place = depth > 0 ? keptAcrossRequests(node.left as AstNode) : undefined;
          if (place) crossRequest(node, made, place);
          // A local that now holds a client: `pool = mysql.createPool(…); pools.set(key, pool)`.
          else if (name && depth > 0 && shadowed(name)) clientLocals.at(-1)?.set(name, made);
          else if (depth > 0) keepOnInstance(node, node.left as AstNode, made);
        }
        break;
      }
      case "CallExpression": {
        const callee = node.callee as AstNode;
        const invoked = unwrap(callee);
        if (depth === 0 && invoked && FUNCTIONS.has(invoked.type)) runsNow.add(invoked);
        if (callee.type === "MemberExpression" && !callee.computed) {
          const method = nameOf(callee.property);
          if (method === "execute") {
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
          // `pools.set(key, new Pool())` on a module-level Map.
          if (method === "set" && depth > 0) {
            const value = clientValue((node.arguments as AstNode[])[1]);
            const map = unwrap(callee.object as AstNode) as AstNode;
            const mapName = nameOf(map);
            const place =
              map.type === "Identifier" && mapName
                ? moduleNames.has(mapName) && !shadowed(mapName)
                  ? `the module-level \`${mapName}\``
                  : undefined
                : keptAcrossRequests(map);
            if (value && place) crossRequest(node, value, place);
          }
        }
        break;
      }
    }
    const opensScope = FUNCTIONS.has(node.type);
    const now = runsNow.has(node);
    // Instance field initialisers run per construction, like a function body; static ones run with the class.
    const runsLater =
      (opensScope && !now) || ((node.type === "ClassProperty" || node.type === "ClassPrivateProperty") && !node.static);
    if (opensScope) {
      scopes.push(declaredIn(node));
      const calledOnce =
        node.type === "FunctionDeclaration" && depth === 0 && calledAtModuleScope.has(nameOf(node.id) ?? "");
      moduleLived.push(now || calledOnce);
      clientLocals.push(new Map());
      const isStatic = (node.type === "ClassMethod" || node.type === "ClassPrivateMethod") && node.static === true;
      // Arrow functions keep the `this` of where they are written.
      staticThis.push(node.type === "ArrowFunctionExpression" ? (staticThis.at(-1) ?? false) : isStatic);
    }
    const isClass = node.type === "ClassDeclaration" || node.type === "ClassExpression";
    if (isClass) classes.push({ name: nameOf(node.id), durable: isDurableObject(node) });
    for (const child of childrenOf(node)) visit(child, runsLater ? depth + 1 : depth, inside && !runsLater);
    if (isClass) classes.pop();
    if (opensScope) {
      scopes.pop();
      moduleLived.pop();
      clientLocals.pop();
      staticThis.pop();
    }
  };
  // The file's own helpers first, so that a call to one at module scope is seen.
  const makers = exportedMakers(program, creation, helpers);
  visit(program, 0, false);
  // One instance made at module scope is shared by every request: what its methods keep on `this`, they keep for all.
  const instances = moduleScopeConstructed(program);
  for (const [name, kept] of keptOnInstance) {
    if (instances.has(name) && moduleNames.has(name)) {
      report(
        "fail",
        "source.cross-request",
        "HDK_CROSS_REQUEST_IO",
        kept.node,
        `${kept.made.spelled} (${kept.made.label}) is kept in \`this.${kept.member}\` of ${name}, and the module makes one \`new ${name}()\` that every request shares: the next request reuses it`,
      );
    }
  }
  return { findings, makers, usesDatabase };
}

/** The names of the functions called at module scope (`const getSql = memo()`), outside any function body. */
function moduleScopeCallees(program: AstNode): Set<string> {
  const names = new Set<string>();
  const visit = (node: AstNode) => {
    if (FUNCTIONS.has(node.type)) return;
    if (node.type === "CallExpression" && (node.callee as AstNode).type === "Identifier") {
      names.add((node.callee as AstNode).name as string);
    }
    for (const child of childrenOf(node)) visit(child);
  };
  visit(program);
  return names;
}

/** The classes instantiated at module scope (`const repo = new Repo()`), outside any function body. */
function moduleScopeConstructed(program: AstNode): Set<string> {
  const names = new Set<string>();
  const visit = (node: AstNode) => {
    if (FUNCTIONS.has(node.type)) return;
    // An instance field's initialiser runs per construction, not at module scope.
    if ((node.type === "ClassProperty" || node.type === "ClassPrivateProperty") && !node.static) return;
    if (node.type === "NewExpression" && (node.callee as AstNode).type === "Identifier") {
      names.add((node.callee as AstNode).name as string);
    }
    for (const child of childrenOf(node)) visit(child);
  };
  visit(program);
  return names;
}

/** `class X extends DurableObject` (or `cloudflare:workers`' namespace's): its instances are Durable Objects. */
function isDurableObject(cls: AstNode): boolean {
  const parent = unwrap(cls.superClass as AstNode | undefined);
  if (!parent) return false;
  const name = parent.type === "MemberExpression" && !parent.computed ? nameOf(parent.property) : nameOf(parent);
  return name === "DurableObject";
}

/** `new PrismaClient({ adapter })` with an adapter other than D1's (which is not a database connection). */
function hasAdapter(expr: AstNode): boolean {
  const options = unwrap((expr.arguments as AstNode[])[0]);
  const adapter = (options?.properties as AstNode[] | undefined)?.find(
    (p) => p.type === "ObjectProperty" && nameOf(p.key) === "adapter",
  );
  const value = unwrap(adapter?.value as AstNode | undefined);
  return adapter !== undefined && !(value?.type === "NewExpression" && nameOf(value.callee) === "PrismaD1");
}

function destructure(pattern: AstNode, add: (local: string, key: string) => void): void {
  for (const property of pattern.properties as AstNode[]) {
    if (property.type !== "ObjectProperty") continue;
    const key = nameOf(property.key);
    const value = property.value as AstNode;
    const local = nameOf(value.type === "AssignmentPattern" ? value.left : value);
    if (key && local) add(local, key);
  }
}

/**
 * What a function returns when it returns a client it makes (`return drizzle(postgres(url))`, `const db = …; return
 * db`, an arrow's body): its own body only, not nested functions. A function that makes a client and closes it
 * before returning something else is not a maker.
 */
function makesClient(fn: AstNode, creation: (node: AstNode) => Creation | undefined): string | undefined {
  const holders = new Map<string, string>();
  const madeBy = (node: AstNode | undefined): string | undefined => {
    const expr = unwrap(node);
    if (!expr) return undefined;
    const made = creation(expr);
    if (made) return made.label;
    if (expr.type === "LogicalExpression") return madeBy(expr.right as AstNode) ?? madeBy(expr.left as AstNode);
    if (expr.type === "ConditionalExpression") {
      return madeBy(expr.consequent as AstNode) ?? madeBy(expr.alternate as AstNode);
    }
    if (expr.type === "AssignmentExpression") return madeBy(expr.right as AstNode);
    const name = nameOf(expr);
    return name && expr.type === "Identifier" ? holders.get(name) : undefined;
  };
  const returned: AstNode[] = [];
  const visit = (node: AstNode) => {
    if (FUNCTIONS.has(node.type) && node !== fn) return;
    if (node.type === "VariableDeclarator" || node.type === "AssignmentExpression") {
      const target = nameOf(node.type === "VariableDeclarator" ? node.id : node.left);
      const value = madeBy((node.type === "VariableDeclarator" ? node.init : node.right) as AstNode | undefined);
      if (target && value) holders.set(target, value);
    }
    if (node.type === "ReturnStatement" && isNode(node.argument)) returned.push(node.argument);
    for (const child of childrenOf(node)) visit(child);
  };
  if (fn.type === "ArrowFunctionExpression" && isNode(fn.body) && fn.body.type !== "BlockStatement") {
    returned.push(fn.body);
  }
  visit(fn);
  for (const value of returned) {
    const made = madeBy(value);
    if (made) return made;
  }
  return undefined;
}

/**
 * Module-level functions that make a client (`function getDb(url) { return drizzle(postgres(url)) }`), as this file
 * exports them: another file calling one at module scope makes a client there. Names in this file also go into
 * `helpers`, for calls in the file itself.
 */
function exportedMakers(
  program: AstNode,
  creation: (node: AstNode) => Creation | undefined,
  helpers: Map<string, string>,
): Map<string, string> {
  const local = new Map<string, AstNode>();
  const exported = new Map<string, string>(); // exported name → local name
  for (const statement of program.body as AstNode[]) {
    const isExport = statement.type === "ExportNamedDeclaration" || statement.type === "ExportDefaultDeclaration";
    const declaration = isExport && isNode(statement.declaration) ? statement.declaration : statement;
    if (declaration.type === "FunctionDeclaration" && isNode(declaration.id)) {
      const name = declaration.id.name as string;
      local.set(name, declaration);
      if (isExport) exported.set(statement.type === "ExportDefaultDeclaration" ? "default" : name, name);
    } else if (declaration.type === "VariableDeclaration") {
      for (const declarator of declaration.declarations as AstNode[]) {
        const init = unwrap(declarator.init as AstNode | undefined);
        const name = nameOf(declarator.id);
        if (name && init && (init.type === "ArrowFunctionExpression" || init.type === "FunctionExpression")) {
          local.set(name, init);
          if (isExport) exported.set(name, name);
        }
      }
    } else if (statement.type === "ExportNamedDeclaration" && !statement.source) {
      for (const specifier of (statement.specifiers as AstNode[]) ?? []) {
        const from = nameOf(specifier.local);
        const as = nameOf(specifier.exported);
        if (from && as) exported.set(as, from);
      }
    } else if (statement.type === "ExportDefaultDeclaration" && nameOf(statement.declaration)) {
      exported.set("default", nameOf(statement.declaration) as string);
    }
  }
  // To a fixed point: a helper that calls a helper makes a client too.
  let changed = true;
  while (changed) {
    changed = false;
    for (const [name, fn] of local) {
      if (helpers.has(name)) continue;
      const made = makesClient(fn, creation);
      if (made) {
        helpers.set(name, made);
        changed = true;
      }
    }
  }
  const out = new Map<string, string>();
  for (const [as, name] of exported) {
    const made = helpers.get(name);
    if (made) out.set(as, made);
  }
  return out;
}
