import { describe, expect, it } from "vitest";
import { QueryCache } from "../../src/cache.ts";
import { postgresRefusal } from "../../src/postgres/refusals.ts";
import { isReadOnly, lex, volatileFunction } from "../../src/sql.ts";

const functions = new Set(["now", "random", "nextval"]);

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
    expect(volatileFunction("select NOW()", functions)).toBe("now");
    expect(volatileFunction("select 1 /* random() */", functions)).toBe("random");
    expect(volatileFunction("select current_date", functions)).toBe("current_date");
    expect(volatileFunction("select CURRENT_TIMESTAMP()", functions)).toBe("current_timestamp");
    expect(volatileFunction("select now from t", functions)).toBeUndefined(); // a column, not a call
    expect(volatileFunction("select lower(name) from t", functions)).toBeUndefined();
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
      { maxAgeMs: 60_000, staleWhileRevalidateMs: 15_000, maxResultBytes: 10 },
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
    const cache = new QueryCache<string>({ maxAgeMs: 1, staleWhileRevalidateMs: 0, maxResultBytes: 10 });
    expect(cache.store("k", "big", 11)).toBe(false);
    expect(cache.lookup("k")).toBeUndefined();
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
