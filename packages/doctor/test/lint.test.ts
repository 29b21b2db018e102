/** The project lint on fixture Workers in both config formats, each finding asserted exactly. */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { catalog } from "@hyperdrive-kit/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Section } from "../src/findings.ts";
import { lintProject, type ProjectLint, ProjectNotFoundError } from "../src/lint.ts";
import { BINDING_DOCS, LOCAL_DEV, rules } from "../src/rules.ts";
import { fixture } from "./support/fixtures.ts";

/** A section as [status, code, title] rows. */
const rows = (section: Section | undefined) =>
  (section?.findings ?? []).map((f) => [f.status, f.code ?? null, f.title] as const);

const section = (lint: ProjectLint, title: string) => lint.sections.find((s) => s.title === title);

describe("lint: wrangler.jsonc with environments and every finding", () => {
  let lint: ProjectLint;
  let remove: () => Promise<void>;
  beforeAll(async () => {
    const copy = await fixture("lint-jsonc");
    remove = copy.remove;
    lint = await lintProject(copy.dir);
  });
  afterAll(() => remove());

  it("checks the top level: compatibility date, binding names, ids, remote, local strings, poolers, .dev.vars", () => {
    expect(rows(section(lint, "wrangler.jsonc"))).toEqual([
      ["fail", "HDK_DOCTOR_COMPATIBILITY_DATE", "compatibility_date 2024-01-15 is before 2024-09-23"],
      ["fail", "HDK_DOCTOR_BINDING_NAME", 'binding name "my-db" is not a valid JavaScript identifier'],
      [
        "fail",
        "HDK_DOCTOR_LOCAL_STRING_INVALID",
        "binding my-db: localConnectionString postgres://app@localhost:5432/app has no password",
      ],
      ["fail", "HDK_DOCTOR_BINDING_ID", 'binding NO_ID has no "id"'],
      ["warn", "HDK_DOCTOR_REMOTE_BINDING", 'binding NO_ID sets "remote": true'],
      ["pass", null, "binding POOLED: valid name, id set"],
      ["pass", null, "binding POOLED: localConnectionString postgres://app:[redacted]@127.0.0.1:6432/app"],
      [
        "warn",
        "HDK_DOCTOR_POOLER",
        "binding POOLED: localConnectionString goes through a pooler (port 6432 is PgBouncer's usual port): wrangler dev connects to it directly, without Hyperdrive, so local queries go through that pooler",
      ],
      ["pass", null, "binding IN_DEV_VARS: valid name, id set"],
      [
        "fail",
        "HDK_DOCTOR_LOCAL_STRING_IN_DEV_VARS",
        "binding IN_DEV_VARS: CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_IN_DEV_VARS is in .dev.vars, where wrangler ignores it, and there is no other local connection string",
      ],
      ["pass", null, "binding FROM_ENV: valid name, id set"],
      [
        "pass",
        null,
        "binding FROM_ENV: .env: CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_FROM_ENV postgres://app:[redacted]@127.0.0.1:5432/app",
      ],
    ]);
  });

  it("points at the line and column in the JSONC file", () => {
    const locations = section(lint, "wrangler.jsonc")?.findings.map((f) => f.location);
    expect(locations?.[0]).toEqual({ file: "wrangler.jsonc", line: 5, column: 25 });
    expect(locations?.[1]).toEqual({ file: "wrangler.jsonc", line: 9, column: 18 });
  });

  it("checks each environment: flags of its own, bindings that are not inherited", () => {
    expect(rows(section(lint, "wrangler.jsonc [env.staging]"))).toEqual([
      [
        "fail",
        "HDK_NODEJS_COMPAT_MISSING",
        '[env.staging] compatibility_flags has no "nodejs_compat" (on by default only from compatibility_date 2026-08-04): the drivers cannot load node:net, node:tls or node:crypto',
      ],
      // The inherited date is a problem of its own: adding the flag alone would not be enough.
      ["fail", "HDK_DOCTOR_COMPATIBILITY_DATE", "[env.staging] compatibility_date 2024-01-15 is before 2024-09-23"],
      ["pass", null, "[env.staging] binding HYPERDRIVE: valid name, id set"],
      [
        "warn",
        "HDK_DOCTOR_LOCAL_STRING_MISSING",
        "[env.staging] binding HYPERDRIVE: no localConnectionString and no CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE in .env: wrangler dev will refuse to start",
      ],
    ]);
    expect(rows(section(lint, "wrangler.jsonc [env.production]"))).toEqual([
      [
        "fail",
        "HDK_BINDING_MISSING",
        '[env.production] has no "hyperdrive" bindings: wrangler does not inherit bindings from the top level',
      ],
    ]);
  });

  it("reads driver versions from the lockfile, else the lowest the range allows", () => {
    expect(rows(section(lint, "package.json"))).toEqual([
      ["fail", "HDK_DOCTOR_DRIVER_VERSION", "pg 8.11.3 (package-lock.json) is older than 8.16.3, Hyperdrive's minimum"],
      [
        "fail",
        "HDK_DOCTOR_DRIVER_VERSION",
        'postgres 3.4.4 (package.json: "3.4.4") is older than 3.4.5, Hyperdrive\'s minimum',
      ],
      ["pass", null, "mysql2 3.14.1 (package-lock.json) ≥ 3.13.0"],
    ]);
  });

  it("finds the source patterns on the syntax tree, and leaves tests and per-request clients alone", () => {
    expect(rows(section(lint, "source"))).toEqual([
      ["warn", "HDK_DOCTOR_SOURCE_UNREADABLE", "src/broken.ts does not parse: Unexpected token (1:23)"],
      [
        "fail",
        "HDK_GLOBAL_SCOPE",
        "src/index.ts:5:14: new Pool() creates a node-postgres client at module scope, shared by every request",
      ],
      [
        "fail",
        "HDK_CROSS_REQUEST_IO",
        "src/index.ts:12:5: postgres() (Postgres.js) is kept in the module-level variable `sql` inside a function: the next request reuses it",
      ],
      [
        "warn",
        "HDK_PREPARE_FALSE_DEFEATS_CACHING",
        "src/index.ts:12:57: postgres() with `prepare: false`: Hyperdrive cannot cache these queries",
      ],
      [
        "fail",
        "HDK_EVAL_DISALLOWED",
        "src/mysql.ts:4:28: mysql.createConnection() has no `disableEval: true`: mysql2 then compiles its row parsers with eval, which Workers refuse",
      ],
      [
        "fail",
        "HDK_HYPERDRIVE_MYSQL_PREPARE_UNSUPPORTED",
        "src/mysql.ts:10:24: `connection.execute()` sends a prepared statement, which Hyperdrive refuses",
      ],
    ]);
  });

  it("gives every warning and failure its catalogue entry's details, fix and docs", () => {
    for (const found of lint.sections.flatMap((s) => s.findings)) {
      if (found.status === "pass") continue;
      const code = found.code as string;
      const entry = code in catalog ? catalog[code as keyof typeof catalog] : rules[code as keyof typeof rules];
      // The missing binding links Cloudflare's page on bindings rather than the library's README, and has a fix of
      // its own (core's names an adapter option and "the bindings listed in the message", which a doctor user has not).
      if (code === "HDK_BINDING_MISSING") {
        expect(found).toMatchObject({ details: entry.details, docs: BINDING_DOCS });
        expect(found.fix).not.toBe(entry.fix);
        expect(found.fix).not.toContain("listed in the message");
        expect(found.fix).toContain('"env": { "production": { "hyperdrive": [');
      } else if (code === "HDK_DOCTOR_POOLER") {
        // A pooler in a local connection string is wrangler dev's, not Hyperdrive's: texts of its own.
        expect(found.fix).toContain("local database itself");
        expect(found.docs).toBe(LOCAL_DEV);
      } else {
        expect(found).toMatchObject({ details: entry.details, fix: entry.fix, docs: entry.docs });
      }
    }
  });

  it("collects the local strings wrangler dev would use, never printing their passwords", () => {
    expect(lint.localStrings.map(({ binding, source }) => [binding, source])).toEqual([
      ["POOLED", "localConnectionString"],
      ["FROM_ENV", ".env: CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_FROM_ENV"],
    ]);
    const text = JSON.stringify(lint.sections);
    for (const secret of ["secret-pooled", "secret-env", "secret-devvars"]) expect(text).not.toContain(secret);
  });
});

describe("lint: wrangler.toml with an environment", () => {
  let lint: ProjectLint;
  let remove: () => Promise<void>;
  beforeAll(async () => {
    const copy = await fixture("lint-toml");
    remove = copy.remove;
    lint = await lintProject(copy.dir);
  });
  afterAll(() => remove());

  it("reports each finding of the TOML file", () => {
    expect(rows(section(lint, "wrangler.toml"))).toEqual([
      [
        "fail",
        "HDK_NODEJS_COMPAT_MISSING",
        'compatibility_flags has no "nodejs_compat" (on by default only from compatibility_date 2026-08-04): the drivers cannot load node:net, node:tls or node:crypto',
      ],
      ["pass", null, "binding HYPERDRIVE: valid name, id set"],
      ["pass", null, "binding HYPERDRIVE: localConnectionString mysql://app:[redacted]@127.0.0.1:3306/app"],
    ]);
    expect(rows(section(lint, "wrangler.toml [env.dev]"))).toEqual([
      ["pass", null, "[env.dev] nodejs_compat on, compatibility_date 2025-01-01"],
      ["fail", "HDK_DOCTOR_BINDING_NAME", '[env.dev] binding name "1DB" is not a valid JavaScript identifier'],
      [
        "pass",
        null,
        "[env.dev] binding 1DB: localConnectionString mysql://app:[redacted]@db-pooler.example.com:3306/app",
      ],
      [
        "warn",
        "HDK_DOCTOR_POOLER",
        '[env.dev] binding 1DB: localConnectionString goes through a pooler ("db-pooler.example.com" is a pooler host name): wrangler dev connects to it directly, without Hyperdrive, so local queries go through that pooler',
      ],
    ]);
  });

  it("reads pnpm-lock.yaml and finds a pool created at module scope", () => {
    expect(rows(section(lint, "package.json"))).toEqual([
      [
        "fail",
        "HDK_DOCTOR_DRIVER_VERSION",
        "mysql2 3.11.5 (pnpm-lock.yaml) is older than 3.13.0, Hyperdrive's minimum",
      ],
    ]);
    expect(rows(section(lint, "source"))).toEqual([
      [
        "fail",
        "HDK_GLOBAL_SCOPE",
        "src/worker.ts:4:14: createPool() creates a mysql2 client at module scope, shared by every request",
      ],
    ]);
  });
});

describe("lint: configurations wrangler cannot read", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "hdk-doctor-bad-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const lintWith = async (name: string, text: string) => {
    const project = await mkdtemp(join(dir, "p-"));
    await writeFile(join(project, name), text);
    return lintProject(project);
  };

  it("reports a JSONC syntax error with its position", async () => {
    const lint = await lintWith("wrangler.jsonc", '{\n  "name": "x",\n  "hyperdrive": [ { "binding": } ]\n}\n');
    expect(rows(lint.sections[0])).toEqual([
      ["fail", "HDK_DOCTOR_CONFIG_INVALID", "wrangler.jsonc:3:32: ValueExpected"],
    ]);
  });

  it("reports a TOML syntax error with its position", async () => {
    const lint = await lintWith("wrangler.toml", 'name = "x"\n[[hyperdrive]\nbinding = "A"\n');
    expect(lint.sections[0]?.findings[0]).toMatchObject({
      status: "fail",
      code: "HDK_DOCTOR_CONFIG_INVALID",
      location: { file: "wrangler.toml", line: 2 },
    });
  });

  it("refuses a directory without a Wrangler configuration (a usage error, not a finding)", async () => {
    await expect(lintProject(dir)).rejects.toThrow(ProjectNotFoundError);
    await expect(lintProject(join(dir, "missing"))).rejects.toThrow(ProjectNotFoundError);
  });

  it("fails a Worker that reads a Hyperdrive binding it does not have, warns one that connects without Hyperdrive", async () => {
    const withWorker = async (config: object, source: string) => {
      const project = await mkdtemp(join(dir, "p-"));
      await writeFile(join(project, "wrangler.json"), JSON.stringify({ name: "x", main: "src/index.ts", ...config }));
      await mkdir(join(project, "src"));
      await writeFile(join(project, "src", "index.ts"), source);
      return lintProject(project);
    };
    const compat = { compatibility_date: "2025-09-01", compatibility_flags: ["nodejs_compat"] };
    const lint = await withWorker(
      compat,
      'import postgres from "postgres";\nexport default { fetch: (r, env) => postgres(env.HYPERDRIVE.connectionString)`select 1` };\n',
    );
    expect(rows(lint.sections[0])).toEqual([
      ["pass", null, "nodejs_compat on, compatibility_date 2025-09-01"],
      [
        "fail",
        "HDK_BINDING_MISSING",
        'wrangler.json has no "hyperdrive" binding, but the Worker reads one (`env.<BINDING>.connectionString`)',
      ],
    ]);
    const missing = lint.sections[0]?.findings[1];
    expect(missing?.fix).toContain("wrangler hyperdrive create");
    expect(missing?.fix).toContain('"hyperdrive": [{ "binding": "HYPERDRIVE"');
    expect(missing?.fix).not.toContain("listed in the message");
    // D4: `drizzle(c.env.DATABASE_URL)` over pg connects straight to the database: no Hyperdrive, not broken.
    const direct = await withWorker(
      compat,
      'import { drizzle } from "drizzle-orm/node-postgres";\nexport default { fetch: (r, env) => drizzle(env.DATABASE_URL).execute("select 1") };\n',
    );
    expect(rows(direct.sections[0])).toEqual([
      ["pass", null, "nodejs_compat on, compatibility_date 2025-09-01"],
      [
        "warn",
        "HDK_BINDING_MISSING",
        'wrangler.json has no "hyperdrive" binding: the Worker\'s database driver connects to the database directly, without Hyperdrive',
      ],
    ]);
    expect(direct.sections[0]?.findings[1]?.fix).toContain("env.HYPERDRIVE.connectionString");
    const none = await withWorker(
      { compatibility_date: "2023-01-01" },
      'export default { fetch: () => new Response("ok") };\n',
    );
    expect(none.sections.flatMap((s) => rows(s))).toEqual([
      [
        "pass",
        null,
        "no Hyperdrive binding and no database driver: nothing here for Hyperdrive (config not checked further)",
      ],
      [
        "pass",
        null,
        "1 source file from src/index.ts: no client made at module scope or kept across requests, no `prepare: false`, eval, `execute()`, `ssl` or `max` above 6",
      ],
    ]);
  });
});

describe("lint: every independent problem in one run", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "hdk-doctor-many-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /** A project from its files (paths relative to the project, directories made as needed). */
  const project = async (files: Record<string, unknown>) => {
    const root = await mkdtemp(join(dir, "p-"));
    for (const [name, content] of Object.entries(files)) {
      await mkdir(dirname(join(root, name)), { recursive: true });
      await writeFile(join(root, name), typeof content === "string" ? content : JSON.stringify(content));
    }
    return root;
  };

  it("reports the missing flag and the old date, an incomplete string and its pooler, a too-new driver, all at once", async () => {
    const lint = await lintProject(
      await project({
        "wrangler.json": {
          name: "many",
          main: "src/index.ts",
          compatibility_date: "2024-01-01",
          hyperdrive: [
            {
              binding: "DB",
              id: "a76a99bc342644deb02c38d66082262a",
              localConnectionString: "postgres://app@db.example.com:6543/app",
            },
            // No name: its localConnectionString is still checked.
            { id: "b76a99bc342644deb02c38d66082262a", localConnectionString: "postgres://app:pw-x@127.0.0.1:6432/" },
          ],
        },
        "package.json": { dependencies: { postgres: "^5.0.0", mysql2: ">=3.0.0" } },
        "node_modules/postgres/package.json": { name: "postgres", version: "5.0.0" },
        "src/index.ts":
          'import postgres from "postgres";\nexport const sql = postgres();\nexport { createPool } from "mysql2";\n',
      }),
    );
    expect(rows(section(lint, "wrangler.json"))).toEqual([
      [
        "fail",
        "HDK_NODEJS_COMPAT_MISSING",
        'compatibility_flags has no "nodejs_compat" (on by default only from compatibility_date 2026-08-04): the drivers cannot load node:net, node:tls or node:crypto',
      ],
      ["fail", "HDK_DOCTOR_COMPATIBILITY_DATE", "compatibility_date 2024-01-01 is before 2024-09-23"],
      ["pass", null, "binding DB: valid name, id set"],
      [
        "fail",
        "HDK_DOCTOR_LOCAL_STRING_INVALID",
        "binding DB: localConnectionString postgres://app@db.example.com:6543/app has no password",
      ],
      [
        "warn",
        "HDK_DOCTOR_POOLER",
        "binding DB: localConnectionString goes through a pooler (port 6543 is Supabase's transaction pooler): wrangler dev connects to it directly, without Hyperdrive, so local queries go through that pooler",
      ],
      ["fail", "HDK_DOCTOR_BINDING_NAME", 'hyperdrive entry #2 has no "binding" name'],
      [
        "fail",
        "HDK_DOCTOR_LOCAL_STRING_INVALID",
        "binding #2: localConnectionString postgres://app:[redacted]@127.0.0.1:6432/ has no database",
      ],
      [
        "warn",
        "HDK_DOCTOR_POOLER",
        "binding #2: localConnectionString goes through a pooler (port 6432 is PgBouncer's usual port): wrangler dev connects to it directly, without Hyperdrive, so local queries go through that pooler",
      ],
    ]);
    // Incomplete strings are not connected to (Miniflare refuses them).
    expect(lint.localStrings).toEqual([]);
    expect(rows(section(lint, "package.json"))).toEqual([
      [
        "fail",
        "HDK_DOCTOR_DRIVER_UNSUPPORTED",
        "postgres 5.0.0 (node_modules/postgres/package.json) is 5.x, which hyperdrive-kit does not support: install postgres@4",
      ],
      [
        "fail",
        "HDK_DOCTOR_DRIVER_VERSION",
        'mysql2 3.0.0 (package.json: ">=3.0.0") is older than 3.13.0, Hyperdrive\'s minimum',
      ],
    ]);
    expect(section(lint, "package.json")?.findings[0]).toMatchObject({
      details: rules.HDK_DOCTOR_DRIVER_UNSUPPORTED.details,
      fix: "Install Postgres.js 4 (`npm i postgres@4`, `pnpm add postgres@4`) and commit the lockfile.",
    });
    expect(rows(section(lint, "source"))).toEqual([
      [
        "fail",
        "HDK_GLOBAL_SCOPE",
        "src/index.ts:2:20: postgres() creates a Postgres.js client at module scope, shared by every request",
      ],
    ]);
    expect(JSON.stringify(lint.sections)).not.toContain("pw-x");
  });

  it("warns, not fails, about the flag and the date when the fully read source loads no database driver", async () => {
    // D5: a Hyperdrive binding, but nothing in the Worker's source imports a driver (yet).
    const lint = await lintProject(
      await project({
        "wrangler.json": {
          name: "binding-only",
          main: "src/index.ts",
          compatibility_date: "2024-01-01",
          hyperdrive: [
            {
              binding: "HYPERDRIVE",
              id: "a76a99bc342644deb02c38d66082262a",
              localConnectionString: "postgres://app:pw@127.0.0.1:5432/app",
            },
          ],
        },
        "src/index.ts": "export default { fetch: (r, env) => new Response(env.HYPERDRIVE.host) };\n",
      }),
    );
    expect(rows(section(lint, "wrangler.json")).slice(0, 2)).toEqual([
      [
        "warn",
        "HDK_NODEJS_COMPAT_MISSING",
        'compatibility_flags has no "nodejs_compat" (on by default only from compatibility_date 2026-08-04): no database driver is imported by the source read, but one would not load node:net, node:tls or node:crypto',
      ],
      [
        "warn",
        "HDK_DOCTOR_COMPATIBILITY_DATE",
        "compatibility_date 2024-01-01 is before 2024-09-23: no database driver is imported by the source read, but one would need a later date",
      ],
    ]);
  });

  /** A Postgres.js Worker with one binding whose local string is `local`, plus `files`. */
  const postgresWorker = (local: string, files: Record<string, unknown> = {}) =>
    project({
      "wrangler.json": {
        name: "worker",
        main: "src/index.ts",
        compatibility_date: "2025-09-01",
        compatibility_flags: ["nodejs_compat"],
        hyperdrive: [{ binding: "HYPERDRIVE", id: "a76a99bc342644deb02c38d66082262a", localConnectionString: local }],
      },
      "src/index.ts":
        'import postgres from "postgres";\nexport default { fetch: (r, env) => postgres(env.HYPERDRIVE.connectionString)`select 1` };\n',
      ...files,
    });

  it("says what a pooler in a local connection string does locally, and does not call localhost Supabase's", async () => {
    // D6: wrangler dev connects straight to the local string; Hyperdrive's origin is not involved.
    const lint = await lintProject(await postgresWorker("postgres://app:pw@localhost:6543/app"));
    const pooler = section(lint, "wrangler.json")?.findings.find((f) => f.code === "HDK_DOCTOR_POOLER");
    expect(pooler?.title).toBe(
      "binding HYPERDRIVE: localConnectionString goes through a pooler (port 6543 is a transaction-mode pooler's usual port): wrangler dev connects to it directly, without Hyperdrive, so local queries go through that pooler",
    );
    expect(pooler?.details).not.toContain("Supabase");
    expect(pooler?.fix).toContain("local database itself");
    expect(pooler?.fix).not.toContain("Point Hyperdrive at");
  });

  it("says when the wrangler.toml that wrangler ignores beside wrangler.jsonc holds Hyperdrive bindings", async () => {
    const root = await project({
      "wrangler.jsonc": { name: "two", main: "src/index.ts", compatibility_date: "2025-09-01" },
      "wrangler.toml":
        'name = "two"\nmain = "src/index.ts"\n\n[[hyperdrive]]\nbinding = "HYPERDRIVE"\nid = "a76a99bc342644deb02c38d66082262a"\n',
      "src/index.ts": 'export default { fetch: () => new Response("ok") };\n',
    });
    const lint = await lintProject(root);
    expect(rows(section(lint, "wrangler.jsonc"))).toContainEqual([
      "warn",
      "HDK_DOCTOR_CONFIG_IGNORED",
      "wrangler.toml holds Hyperdrive bindings (HYPERDRIVE), but wrangler reads wrangler.jsonc and ignores it",
    ]);
    // Without bindings in it, the other file is no business of Hyperdrive's.
    await writeFile(join(root, "wrangler.toml"), 'name = "two"\n');
    expect(rows(section(await lintProject(root), "wrangler.jsonc")).map((r) => r[1])).not.toContain(
      "HDK_DOCTOR_CONFIG_IGNORED",
    );
  });

  it("warns about a driver the source imports that package.json does not declare", async () => {
    const lint = await lintProject(
      await postgresWorker("postgres://app:pw@127.0.0.1:5432/app", {
        "package.json": { name: "undeclared", dependencies: {} },
      }),
    );
    expect(rows(section(lint, "package.json"))).toEqual([
      [
        "warn",
        "HDK_DOCTOR_DRIVER_UNDECLARED",
        "postgres is imported by the Worker's source but not declared in package.json: its version cannot be checked",
      ],
    ]);
  });

  it("reports a date that is missing along with the missing flag", async () => {
    const lint = await lintProject(
      await project({
        "wrangler.json": { name: "x", hyperdrive: [] },
        "src/index.ts": 'import pg from "pg";\nexport default { fetch: () => new pg.Client() };\n',
      }),
    );
    expect(rows(lint.sections[0]).slice(0, 2)).toEqual([
      [
        "fail",
        "HDK_NODEJS_COMPAT_MISSING",
        'compatibility_flags has no "nodejs_compat" (on by default only from compatibility_date 2026-08-04): the drivers cannot load node:net, node:tls or node:crypto',
      ],
      ["fail", "HDK_DOCTOR_COMPATIBILITY_DATE", "no valid compatibility_date"],
    ]);
  });

  it("passes Postgres.js 4 and flags 5 however it is found: locked, a prerelease, or a range open to 5.x", async () => {
    const four = await lintProject(
      await project({
        "wrangler.json": { name: "x" },
        "package.json": { dependencies: { postgres: "^4.0.0" } },
        "package-lock.json": { packages: { "node_modules/postgres": { version: "4.0.2" } } },
      }),
    );
    expect(rows(section(four, "package.json"))).toEqual([
      ["pass", null, "postgres 4.0.2 (package-lock.json) ≥ 3.4.5 and < 5.0.0"],
    ]);
    const lockedBeta = await lintProject(
      await project({
        "wrangler.json": { name: "x" },
        "package.json": { dependencies: { postgres: "next" } },
        "package-lock.json": { packages: { "node_modules/postgres": { version: "5.0.0-beta.3" } } },
      }),
    );
    expect(rows(section(lockedBeta, "package.json"))).toEqual([
      [
        "fail",
        "HDK_DOCTOR_DRIVER_UNSUPPORTED",
        "postgres 5.0.0-beta.3 (package-lock.json) is 5.x, which hyperdrive-kit does not support: install postgres@4",
      ],
    ]);
    // Declared only: the lowest version is too old and the newest is 5.x, two problems.
    const open = await lintProject(
      await project({ "wrangler.json": { name: "x" }, "package.json": { dependencies: { postgres: ">=3.4.0" } } }),
    );
    expect(rows(section(open, "package.json"))).toEqual([
      [
        "fail",
        "HDK_DOCTOR_DRIVER_UNSUPPORTED",
        'postgres ">=3.4.0" (package.json) allows 5.x, which hyperdrive-kit does not support: install postgres@4',
      ],
      [
        "fail",
        "HDK_DOCTOR_DRIVER_VERSION",
        'postgres 3.4.0 (package.json: ">=3.4.0") is older than 3.4.5, Hyperdrive\'s minimum',
      ],
    ]);
    const three = await lintProject(
      await project({
        "wrangler.json": { name: "x" },
        "package.json": { dependencies: { postgres: "^3.4.5" } },
        "node_modules/postgres/package.json": { name: "postgres", version: "3.4.9" },
      }),
    );
    expect(rows(section(three, "package.json"))).toEqual([
      ["pass", null, "postgres 3.4.9 (node_modules/postgres/package.json) ≥ 3.4.5 and < 5.0.0"],
    ]);
  });

  it("says so, without failing the run, when an installed driver's version is not one semver reads", async () => {
    const lint = await lintProject(
      await project({
        "wrangler.json": { name: "x" },
        "package.json": { dependencies: { pg: "^8.16.3" } },
        "node_modules/pg/package.json": { name: "pg", version: "custom-build" },
      }),
    );
    expect(rows(section(lint, "package.json"))).toEqual([
      [
        "warn",
        "HDK_DOCTOR_DRIVER_VERSION",
        'pg "custom-build" (node_modules/pg/package.json) is not a version the doctor can read: check that it is at least 8.16.3',
      ],
    ]);
  });

  it("still checks the drivers and the source when the configuration does not parse", async () => {
    const lint = await lintProject(
      await project({
        "wrangler.jsonc": '{ "name": "x", ',
        "package.json": { dependencies: { pg: "8.11.0" } },
        "src/index.ts": 'import { Pool } from "pg";\nconst pool = new Pool();\n',
      }),
    );
    expect(lint.sections.map((s) => [s.title, rows(s).map(([status, code]) => `${status} ${code}`)])).toEqual([
      ["wrangler.jsonc", ["fail HDK_DOCTOR_CONFIG_INVALID"]],
      ["package.json", ["fail HDK_DOCTOR_DRIVER_VERSION"]],
      ["source", ["fail HDK_GLOBAL_SCOPE"]],
    ]);
  });
});

describe("lint: where things are named", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "hdk-doctor-names-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const worker = async (config: object, files: Record<string, string> = {}) => {
    const project = await mkdtemp(join(dir, "p-"));
    const binding = { binding: "HYPERDRIVE", id: "5d3c1e8a9b7f4e2a8c6d0f1b3a5e7c9d" };
    await writeFile(
      join(project, "wrangler.json"),
      JSON.stringify({
        name: "x",
        compatibility_date: "2025-09-01",
        compatibility_flags: ["nodejs_compat"],
        hyperdrive: [binding],
        ...config,
      }),
    );
    for (const [name, text] of Object.entries(files)) {
      await mkdir(dirname(join(project, name)), { recursive: true });
      await writeFile(join(project, name), text);
    }
    return lintProject(project);
  };

  it("shows the deprecated WRANGLER_HYPERDRIVE_LOCAL_CONNECTION_STRING_<BINDING> under its own name", async () => {
    const lint = await worker(
      { main: "src/index.ts" },
      {
        ".env": "WRANGLER_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE=postgres://app:pw@127.0.0.1:5432/app\n",
        "src/index.ts": 'export default { fetch: () => new Response("ok") };\n',
      },
    );
    expect(rows(section(lint, "wrangler.json"))).toContainEqual([
      "pass",
      null,
      "binding HYPERDRIVE: .env: WRANGLER_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE postgres://app:[redacted]@127.0.0.1:5432/app",
    ]);
    expect(lint.localStrings[0]?.source).toBe(".env: WRANGLER_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE");
  });

  it.each([
    ["src/worker.ts", 'main "src/worker.ts" does not exist: the Worker\'s source was not checked'],
    [
      "@acme/worker/entry.js",
      'main "@acme/worker/entry.js" is a package name, not a file in the project: the Worker\'s source was not checked',
    ],
  ])("a main of %s is reported as not checked, never passed", async (main, title) => {
    const lint = await worker(
      { main },
      { "src/index.ts": 'import pg from "pg";\nexport const pool = new pg.Pool();\n' },
    );
    expect(rows(section(lint, "source"))).toEqual([["warn", "HDK_DOCTOR_SOURCE_NOT_FOUND", title]]);
  });
});
