/**
 * What the simulator needs to know about a statement's text, found the way Hyperdrive documents it: keywords outside
 * comments and literals decide what a statement is; function names are matched in the raw text, comments included.
 */

export interface Statement {
  /** Lower-case words outside comments, string literals and quoted identifiers, in order. */
  words: string[];
}

export type Dialect = "postgres" | "mysql";

/**
 * Splits SQL text into statements (on `;` outside literals and comments) and their keywords. MySQL adds `#` comments
 * and backslash escapes in quoted strings; PostgreSQL has dollar quotes and nested block comments.
 */
export function lex(text: string, dialect: Dialect = "postgres"): Statement[] {
  const statements: Statement[] = [];
  let words: string[] = [];
  let i = 0;
  const n = text.length;
  const end = () => {
    if (words.length > 0) statements.push({ words });
    words = [];
  };
  while (i < n) {
    const c = text[i] as string;
    const next = text[i + 1];
    if ((c === "-" && next === "-") || (c === "#" && dialect === "mysql")) {
      const newline = text.indexOf("\n", i);
      i = newline < 0 ? n : newline + 1;
    } else if (c === "/" && next === "*") {
      // PostgreSQL block comments nest.
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        const pair = text.slice(i, i + 2);
        if (pair === "/*" || pair === "*/") {
          depth += pair === "/*" ? 1 : -1;
          i += 2;
        } else i++;
      }
    } else if (c === "'" || c === '"' || c === "`") {
      i = skipQuoted(text, i, c, dialect === "mysql" && c !== "`");
    } else if (c === "$" && dialect === "postgres") {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(text.slice(i, i + 64));
      if (tag) {
        const close = text.indexOf(tag[0], i + tag[0].length);
        i = close < 0 ? n : close + tag[0].length;
      } else i++;
    } else if (c === ";") {
      end();
      i++;
    } else if (/[A-Za-z_]/.test(c)) {
      const word = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(text.slice(i, i + 256))?.[0] ?? c;
      words.push(word.toLowerCase());
      i += word.length;
    } else i++;
  }
  end();
  return statements;
}

function skipQuoted(text: string, start: number, quote: string, backslashEscapes: boolean): number {
  let i = start + 1;
  while (i < text.length) {
    if (text[i] === "\\" && backslashEscapes) i += 2;
    else if (text[i] === quote) {
      if (text[i + 1] === quote) i += 2;
      else return i + 1;
    } else i++;
  }
  return text.length;
}

const WRITES = new Set(["insert", "update", "delete", "merge", "into", "copy", "call", "do"]);
const LOCKING = ["for update", "for share", "for no key update", "for key share", "lock in share mode"];

/** A read-only query: SELECT, WITH, VALUES, TABLE, without a data-modifying part or row locks (SHOW reads session state). */
export function isReadOnly({ words }: Statement): boolean {
  const first = words[0];
  if (first !== "select" && first !== "with" && first !== "values" && first !== "table") return false;
  if (words.some((word) => WRITES.has(word))) return false;
  const joined = words.join(" ");
  return !LOCKING.some((lock) => joined.includes(lock));
}
