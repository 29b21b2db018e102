/**
 * Which function names block caching, following the database rather than a snapshot: a name is looked up in the
 * origin's catalogue the first time a cacheable read names it, the answer is kept until DDL passes through the
 * simulator, and a name the catalogue did not know is asked again before the next result naming it is stored (the
 * read succeeded, so the function may exist now: a migration run directly against the database).
 */

/** A lower-case name called with `(` and its volatility: true when STABLE or VOLATILE (not cacheable). */
export type Volatility = ReadonlyArray<readonly [name: string, volatile: boolean]>;

export interface FunctionRules {
  /** Names always volatile (built-ins the catalogue does not list, SQL value keywords). */
  volatile: ReadonlySet<string>;
  /** Names never looked up: SQL keywords followed by `(` and deterministic built-ins. */
  skip: ReadonlySet<string>;
  /** Keywords that are volatile without parentheses (`CURRENT_DATE`). */
  bareVolatile: ReadonlySet<string>;
  /** Volatile constructs of several words (MariaDB's `NEXT VALUE FOR s`). */
  patterns: readonly RegExp[];
  /** Where the origin lists the functions it has, asked for names none of the above settles. */
  catalogue: FunctionTable;
}

// A closing `"` or backquote may stand before the parenthesis: `s."Touch"()`, `` `touch`() `` are calls too.
const NAME = /[A-Za-z_][A-Za-z0-9_$]*["`]?(\s*\()?/g;

export class FunctionCatalogue {
  private readonly known = new Map<string, boolean>();
  private readonly rules: FunctionRules;

  constructor(rules: FunctionRules) {
    this.rules = rules;
  }

  /** The first name in the text known to be volatile, comments and literals included (Hyperdrive matches text). */
  volatile(text: string): string | undefined {
    for (const pattern of this.rules.patterns) {
      const match = pattern.exec(text);
      if (match) return match[0].toLowerCase().replace(/\s+/g, " ");
    }
    for (const [name, called] of names(text)) {
      if (this.rules.bareVolatile.has(name)) return name;
      if (!called) continue;
      if (this.rules.volatile.has(name) || this.known.get(name) === true) return name;
    }
    return undefined;
  }

  /** Names called in the text whose volatility is not known yet: to look up before a result is stored. */
  unknown(text: string): string[] {
    const found = new Set<string>();
    for (const [name, called] of names(text)) {
      if (called && !this.rules.skip.has(name) && !this.rules.volatile.has(name) && !this.known.has(name)) {
        found.add(name);
      }
    }
    return [...found];
  }

  /** What the catalogue said; names it did not list stay unknown, asked again next time. */
  learn(volatility: Volatility): void {
    for (const [name, volatile] of volatility) this.known.set(name, volatile);
  }

  /** DDL passed through: functions may have been created, replaced or dropped. */
  forget(): void {
    this.known.clear();
  }
}

function* names(text: string): Generator<[string, boolean]> {
  for (const match of text.matchAll(NAME)) {
    yield [(match[0].replace(/["`]?(\s*\()?$/, "") as string).toLowerCase(), match[1] !== undefined];
  }
}

/**
 * SQL's value functions, written without parentheses (`CURRENT_DATE`): volatile in both dialects, and in neither
 * catalogue. A dialect adds its own.
 */
export function sqlValueFunctions(...more: string[]): ReadonlySet<string> {
  return new Set([
    "current_date",
    "current_time",
    "current_timestamp",
    "localtime",
    "localtimestamp",
    "current_user",
    "current_role",
    ...more,
  ]);
}

/** Where a dialect's catalogue lists functions, and how it tells that one is not immutable. */
export interface FunctionTable {
  /** The catalogue table (`pg_catalog.pg_proc`). */
  table: string;
  /** Its column of function names. */
  name: string;
  /** An aggregate over a name's rows: true when any function by that name is not cacheable. */
  volatile: string;
  /** Which of its rows are functions, where the table lists other routines too. */
  where?: string;
}

/**
 * The catalogue query for these names' volatility: a row a name, `(lower(name), volatile)`. Any schema counts: the
 * search path decides which function a call runs, so one volatile function by the name is enough.
 */
export function volatilityQuery(catalogue: FunctionTable, names: string[]): string {
  const { table, name, volatile, where } = catalogue;
  // The NAME pattern guarantees nothing in a name needs escaping but `'`.
  const quoted = names.map((n) => `'${n.replace(/'/g, "''")}'`).join(",");
  const filter = where ? `${where} and ` : "";
  return `select lower(${name}), ${volatile} from ${table} where ${filter}lower(${name}) in (${quoted}) group by 1`;
}

/** Statements after which the function catalogue may have changed. */
export function isDdl(words: readonly string[]): boolean {
  const first = words[0];
  return first === "create" || first === "alter" || first === "drop" || first === "do";
}
