import { describe, expect, it } from "vitest";
import { QueryCache } from "../../src/cache.ts";
import { FunctionCatalogue } from "../../src/functions.ts";
import { MYSQL_FUNCTION_RULES } from "../../src/mysql/functions.ts";
import { POSTGRES_FUNCTION_RULES } from "../../src/postgres/functions.ts";
import { postgresRefusal } from "../../src/postgres/refusals.ts";
import { isReadOnly, lex } from "../../src/sql.ts";

describe("statement analysis", () => {
  it("splits statements on semicolons outside literals, comments and dollar quotes", () => {
    expect(lex("select 1; select ';' -- ;\n; /* ; /* nested ; */ */ select $x$ ; $x$").map((s) => s.words)).toEqual([
      ["select"],
      ["select"],
      ["select"],
    ]);
    expect(lex("  -- only a comment\n")).toEqual([]);
  });

  it("tells reads from writes, data-modifying CTEs and row locks", () => {
    const readOnly = (sql: string) => isReadOnly(lex(sql)[0] ?? { words: [] });
    expect(readOnly("SELECT * FROM t WHERE id = $1")).toBe(true);
    expect(readOnly("with x as (select 1) select * from x")).toBe(true);
    expect(readOnly("(select 1) union (select 2)")).toBe(true);
    expect(readOnly("with x as (insert into t values (1) returning *) select * from x")).toBe(false);
    expect(readOnly("select * from t for update")).toBe(false);
    expect(readOnly("select * into t2 from t")).toBe(false);
    expect(readOnly("insert into t values (1)")).toBe(false);
    expect(readOnly("show work_mem")).toBe(false);
    expect(readOnly("select 'insert into' as words")).toBe(true);
  });

  it("finds STABLE and VOLATILE function names in the raw text, comments included, as Hyperdrive does", () => {
    const functions = new FunctionCatalogue(POSTGRES_FUNCTION_RULES);
    functions.learn([
      ["lower", false],
      ["touch", true],
    ]);
    expect(functions.volatile("select NOW()")).toBe("now");
    expect(functions.volatile("select 1 /* random() */")).toBe("random");
    expect(functions.volatile("select current_date")).toBe("current_date");
    expect(functions.volatile("select CURRENT_TIMESTAMP()")).toBe("current_timestamp");
    expect(functions.volatile("select now from t")).toBeUndefined(); // a column, not a call
    expect(functions.volatile("select lower(name) from t")).toBeUndefined();
    expect(functions.volatile("select touch (1)")).toBe("touch");
    // Looked up when first seen: neither keywords nor names already known.
    expect(functions.unknown("select f(1), lower(x), g (2) from t where a in (1) and exists (select 1)")).toEqual([
      "f",
      "g",
    ]);
    functions.forget(); // DDL passed through: asked again
    expect(functions.unknown("select touch(1)")).toEqual(["touch"]);
  });

  it("finds quoted function names too: PostgreSQL's \"Name\"(), schema-qualified, and MySQL's `name`()", () => {
    const functions = new FunctionCatalogue(POSTGRES_FUNCTION_RULES);
    expect(functions.unknown('select s."Bump"() as v')).toEqual(["bump"]);
    expect(functions.unknown("select `BumpQ` (1)")).toEqual(["bumpq"]);
    functions.learn([
      ["bump", true],
      ["bumpq", true],
    ]);
    expect(functions.volatile('select s."Bump"() as v')).toBe("bump");
    expect(functions.volatile("select `BumpQ`() as v")).toBe("bumpq");
    expect(functions.volatile('select "bump" from t')).toBeUndefined(); // a quoted column, not a call
  });

  it("never caches MariaDB's and MySQL's non-deterministic built-ins", () => {
    const functions = new FunctionCatalogue(MYSQL_FUNCTION_RULES);
    for (const sql of [
      "select nextval(s)",
      "select NEXT VALUE FOR s",
      "select previous value for s",
      "select random_bytes(8)",
      "select sys_guid()",
      "select uuid_short()",
      "select connection_id()",
    ]) {
      expect(functions.volatile(sql), sql).toBeDefined();
    }
    expect(functions.volatile("select next_value from t")).toBeUndefined();
  });

  it("refuses PostgreSQL session features by keyword, never by words in literals or comments", () => {
    const refusal = (sql: string) => postgresRefusal(lex(sql));
    expect(refusal("PREPARE p AS select 1")).toBe("prepare");
    expect(refusal("execute p(1)")).toBe("prepare");
    expect(refusal("DEALLOCATE ALL")).toBe("prepare");
    expect(refusal("discard plans")).toBe("discard");
    expect(refusal("select pg_advisory_xact_lock(1)")).toBe("advisory-lock");
    expect(refusal("select pg_advisory_unlock_all()")).toBe("advisory-lock");
    expect(refusal("LISTEN jobs")).toBe("listen-notify");
    expect(refusal("select 1; notify jobs")).toBe("listen-notify");
    expect(refusal("select pg_notify('a', 'b')")).toBe("listen-notify");
    expect(refusal("select 'listen' -- pg_advisory_lock(1)")).toBeUndefined();
    expect(refusal("do $$ begin execute 'select 1'; end $$")).toBeUndefined();
  });
});

describe("the query cache", () => {
  it("serves fresh for max_age, then stale for stale_while_revalidate with one revalidation, then forgets", () => {
    let now = 0;
    const cache = new QueryCache<string>(
      { maxAgeMs: 60_000, staleWhileRevalidateMs: 15_000, maxResultBytes: 10, maxCacheBytes: 100 },
      () => now,
    );
    expect(cache.store("k", "v1", 2)).toBe(true);
    now = 59_999;
    expect(cache.lookup("k")).toEqual({ value: "v1", stale: false, revalidate: false });
    now = 60_000;
    expect(cache.lookup("k")).toEqual({ value: "v1", stale: true, revalidate: true });
    expect(cache.lookup("k")).toEqual({ value: "v1", stale: true, revalidate: false });
    cache.revalidationFailed("k");
    expect(cache.lookup("k")?.revalidate).toBe(true);
    now = 75_000;
    expect(cache.lookup("k")).toBeUndefined();
  });

  it("does not store results over the size limit", () => {
    const cache = new QueryCache<string>({
      maxAgeMs: 1,
      staleWhileRevalidateMs: 0,
      maxResultBytes: 10,
      maxCacheBytes: 100,
    });
    expect(cache.store("k", "big", 11)).toBe(false);
    expect(cache.lookup("k")).toBeUndefined();
  });

  it("sweeps expired entries and keeps under maxCacheBytes, least recently used out first", () => {
    let now = 0;
    const cache = new QueryCache<string>(
      { maxAgeMs: 1_000, staleWhileRevalidateMs: 0, maxResultBytes: 10, maxCacheBytes: 20 },
      () => now,
    );
    cache.store("a", "a", 10);
    cache.store("b", "b", 10);
    cache.lookup("a"); // a is now the most recently used
    cache.store("c", "c", 10);
    expect(cache.lookup("b")).toBeUndefined();
    expect(cache.stats).toEqual({ entries: 2, bytes: 20 });
    now = 1_000;
    cache.sweep();
    expect(cache.stats).toEqual({ entries: 0, bytes: 0 });
    cache.clear();
  });
});

describe("MySQL statement analysis", () => {
  it("knows # comments and backslash escapes; PostgreSQL knows neither", () => {
    expect(lex("select 1 # ; select 2", "mysql")).toHaveLength(1);
    expect(lex("select 'it\\'s; fine'", "mysql")).toHaveLength(1);
    expect(lex("select 'C:\\' as path; select 2", "postgres")).toHaveLength(2);
    expect(isReadOnly(lex("select * from t lock in share mode", "mysql")[0] ?? { words: [] })).toBe(false);
  });
});
