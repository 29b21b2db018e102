/** The source rules on small programs: what counts as module scope, shadowing, and what cannot be decided. */
import { describe, expect, it } from "vitest";
import { lintSource } from "../src/source.ts";

const codes = (text: string, file = "src/worker.ts") => lintSource(file, text).map((f) => f.code);

describe("source rules", () => {
  it("ignores files that import no driver, and type-only imports", () => {
    expect(codes("const pool = new Pool();")).toEqual([]);
    expect(codes('import type { Pool } from "pg";\nexport const x: Pool | undefined = undefined;')).toEqual([]);
  });

  it("treats instance fields as per-construction and static fields as module scope", () => {
    const text = `import pg from "pg";
class Db { client = new pg.Client(); }
class Shared { static pool = new pg.Pool(); }
export { Db, Shared };`;
    expect(codes(text)).toEqual(["HDK_GLOBAL_SCOPE"]);
  });

  it("does not take a local variable that shadows a module-level one for the module-level one", () => {
    const text = `import postgres from "postgres";
let sql;
export function handler(url) {
  let sql;
  sql = postgres(url);
  return sql;
}`;
    expect(codes(text)).toEqual([]);
  });

  it("takes the body of a function run immediately at module scope for module scope", () => {
    // An IIFE runs once, at module load: a client it makes is made at module scope.
    const made = `import postgres from "postgres";
const sql = (() => postgres(process.env.DATABASE_URL))();
export default { fetch: () => sql\`select 1\` };`;
    expect(codes(made)).toEqual(["HDK_GLOBAL_SCOPE"]);
    // Its variables live as long as the module: a client cached in one from a handler is kept for the next request.
    const cached = `import postgres from "postgres";
const getSql = (() => {
  let sql;
  return (url) => (sql ??= postgres(url));
})();
export default { fetch: (request, env) => getSql(env.HYPERDRIVE.connectionString)\`select 1\` };`;
    expect(codes(cached)).toEqual(["HDK_CROSS_REQUEST_IO"]);
  });

  it("takes the variables of a function called at module scope for module-lived (a memoising closure)", () => {
    const text = `import postgres from "postgres";
function memo() {
  let client;
  return (url) => { if (!client) client = postgres(url); return client; };
}
const getSql = memo();
export default { fetch: (request, env) => getSql(env.HYPERDRIVE.connectionString)\`select 1\` };`;
    expect(codes(text)).toEqual(["HDK_CROSS_REQUEST_IO"]);
    // The same function called per request keeps nothing: each call has its own variable.
    const perRequest = `import postgres from "postgres";
function memo() {
  let client;
  return (url) => { if (!client) client = postgres(url); return client; };
}
export default { fetch: (request, env) => memo()(env.HYPERDRIVE.connectionString)\`select 1\` };`;
    expect(codes(perRequest)).toEqual([]);
  });

  it("sees namespace imports, awaited creations and calls through parentheses", () => {
    const text = `import * as mysql from "mysql2/promise";
export async function go() {
  const conn = await mysql.createConnection({ disableEval: true });
  return (conn).execute("select 1");
}`;
    expect(codes(text)).toEqual(["HDK_HYPERDRIVE_MYSQL_PREPARE_UNSUPPORTED"]);
  });

  it("flags a mysql2 URL without disableEval, and cannot judge options spread from elsewhere", () => {
    expect(codes('import mysql from "mysql2";\nexport const f = () => mysql.createPool("mysql://h/db");')).toEqual([
      "HDK_EVAL_DISALLOWED",
    ]);
    expect(codes('import mysql from "mysql2";\nexport const f = (o) => mysql.createPool({ ...o });')).toEqual([]);
    expect(
      codes('import mysql from "mysql2";\nexport const f = () => mysql.createPool({ disableEval: false });'),
    ).toEqual(["HDK_EVAL_DISALLOWED"]);
    // The mysql driver never uses eval.
    expect(codes('import mysql from "mysql";\nexport const f = () => mysql.createConnection({});')).toEqual([]);
  });

  it("parses JSX and TSX", () => {
    const tsx = `import postgres from "postgres";
const sql = postgres("postgres://x");
export const App = <T,>(p: { v: T }) => <div>{String(p.v)}</div>;`;
    expect(codes(tsx, "src/app.tsx")).toEqual(["HDK_GLOBAL_SCOPE"]);
  });

  it("flags a client cached on `this` of a module-level instance, not in a Durable Object", () => {
    // D1: one instance at module scope serves every request.
    const shared = `import postgres from "postgres";
class Repo { sql; get(u) { return (this.sql ??= postgres(u)); } }
const repo = new Repo();
export default { fetch: (request, env) => repo.get(env.HYPERDRIVE.connectionString)\`select 1\` };`;
    expect(lintSource("src/worker.ts", shared).map((f) => f.title)).toEqual([
      "src/worker.ts:2:36: postgres() (Postgres.js) is kept in `this.sql` of Repo, and the module makes one `new Repo()` that every request shares: the next request reuses it",
    ]);
    // The same class made per request keeps nothing.
    const perRequest = `import postgres from "postgres";
class Repo { sql; get(u) { return (this.sql ??= postgres(u)); } }
export default { fetch: (request, env) => new Repo().get(env.HYPERDRIVE.connectionString)\`select 1\` };`;
    expect(codes(perRequest)).toEqual([]);
    // A Durable Object's requests share one I/O context: its own fields are its lifetime.
    const durable = `import { DurableObject } from "cloudflare:workers";
import postgres from "postgres";
export class Counter extends DurableObject { get(u) { return (this.sql ??= postgres(u)); } }`;
    expect(codes(durable)).toEqual([]);
  });

  it("does not fail a client put on `env` in a Durable Object's constructor", () => {
    // D2: the object's env lives as long as the object; its requests share one I/O context.
    const text = `import { DurableObject } from "cloudflare:workers";
import postgres from "postgres";
export class Store extends DurableObject {
  constructor(ctx, env) { super(ctx, env); env.SQL = postgres(env.HYPERDRIVE.connectionString); }
}`;
    expect(lintSource("src/worker.ts", text).filter((f) => f.status === "fail")).toEqual([]);
    // In a Worker's handler the same line is the #1 bug.
    const worker = `import postgres from "postgres";
export default { fetch(request, env) { env.SQL = postgres(env.HYPERDRIVE.connectionString); return new Response(); } };`;
    expect(codes(worker)).toEqual(["HDK_CROSS_REQUEST_IO"]);
  });
});
