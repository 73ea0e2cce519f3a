// The filter expression language of the compare view's runs table:
// `config.lr < 0.01 and state == "finished"`, `"cnn" in tags`. A small grammar read by a
// hand-written parser (never eval or Function) and compiled to closures over a FieldLookup.
// nbtrack/_filter.py is the same language in Python, tests/fixtures/filter_cases.json the
// cases both must agree on, and docs/compare.md ("Filter expressions") its documentation.

import type { FieldLookup } from "./types";

/** A filter that cannot be read: the message names the problem, `pos` where it is. */
export class FilterError extends Error {
  override readonly name = "FilterError";
  /** Where the problem is, as an index into the text (what an input's selectionStart counts). */
  readonly pos: number;

  constructor(message: string, pos: number) {
    super(message);
    this.pos = pos;
  }
}

/**
 * The test a filter expression stands for; an empty (or all-blank) text keeps every run.
 *
 *     const keep = compileFilter('config.lr < 0.01 and "cnn" in tags');
 *     runs.filter((run) => keep(runFields(run)));
 *
 * Throws a `FilterError` when the text is not a filter.
 */
export function compileFilter(text: string): (row: FieldLookup) => boolean {
  return new Parser(text).parse();
}

/** The fields an expression reads, in order of first use (`config:lr` reads as `config.lr`). */
export function filterFields(text: string): string[] {
  const parser = new Parser(text);
  parser.parse();
  return [...new Set(parser.fields)];
}

const MAX_LENGTH = 2000;
const MAX_DEPTH = 50;
const FIELDS = [
  "name", "id", "state", "tags", "notes", "project", "created", "runtime", "commit",
  "group", "job_type", "sweep",
]; // prettier-ignore
const FIELD_LIST = `${FIELDS.join(", ")}, config.<key>, summary.<key>`;

type Test = (row: FieldLookup) => boolean;
type Get = (row: FieldLookup) => unknown;
type Op = "==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not in";
type Kind = Op | "value" | "field" | "and" | "or" | "not" | "(" | ")" | "[" | "]" | "," | "end";

interface Token {
  kind: Kind;
  /** The token as written. */
  text: string;
  pos: number;
  /** A literal's value, or a field's name. */
  value: unknown;
}

const NUMBER = /-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/y;
// What sticks to a number makes it a bad one (`1e`, `1.2.3`, `3x`), not a number and a field.
const NUMBER_TAIL = /[A-Za-z0-9_.]*/y;
const WORD = /[A-Za-z_][A-Za-z0-9_]*/y;
const KEY = /[A-Za-z0-9_/.-]+/y;
const SPACE = " \t\r\n";
const KEYWORDS = new Set(["and", "or", "not", "in"]);
// Maps, not object literals: `LITERALS["constructor"]` must not find Object's.
const LITERALS = new Map<string, unknown>([
  ["true", true],
  ["false", false],
  ["null", null],
  ["nan", NaN],
  ["inf", Infinity],
]);
const ESCAPES = new Map([
  ["\\", "\\"],
  ['"', '"'],
  ["'", "'"],
  ["n", "\n"],
  ["r", "\r"],
  ["t", "\t"],
]);
const SYMBOLS = new Set<string>(["==", "!=", "<=", ">=", "<", ">", "(", ")", "[", "]", ","]);
const COMPARISONS = new Set<Kind>(["==", "!=", "<", "<=", ">", ">=", "in"]);
const VALUE_STARTS = new Set<Kind>(["value", "field", "(", "["]);
// Other languages' spellings, refused with ours (one spelling a thing keeps shared filters alike).
const MISTAKES = new Map([
  ["=", "'==' to compare"],
  ["<>", "'!='"],
  ["&&", "'and'"],
  ["&", "'and'"],
  ["||", "'or'"],
  ["|", "'or'"],
  ["!", "'not'"],
]);

class Parser {
  readonly fields: string[] = [];
  private readonly text: string;
  /** Where reading goes on after `tok`. */
  private at = 0;
  private tok: Token;
  /** The token before `tok` as written, for "expected a value after '<'"; "" at the start. */
  private after = "";
  /** Where the token before `tok` ends. */
  private end = 0;
  private depth = 0;

  constructor(text: string) {
    this.text = text;
    // Counted in code points, as Python counts a str, so both refuse the same texts.
    const length = text.length > MAX_LENGTH ? Array.from(text).length : text.length;
    if (length > MAX_LENGTH) {
      throw new FilterError(`filter too long: ${length} characters, the limit is ${MAX_LENGTH}`, 0);
    }
    this.tok = this.lex();
  }

  parse(): Test {
    if (this.sees("end")) return () => true;
    const test = this.or();
    if (this.sees(")")) throw this.error("unmatched ')'");
    if (!this.sees("end")) {
      throw this.error(`expected 'and', 'or' or end of text, found ${this.found()}`);
    }
    return test;
  }

  // -- grammar: or > and > not > comparison ------------------------------------------------

  private or(): Test {
    const first = this.and();
    if (!this.sees("or")) return first;
    const items = [first];
    while (this.sees("or")) {
      this.advance();
      items.push(this.and());
    }
    return (row) => items.some((t) => t(row));
  }

  private and(): Test {
    const first = this.not();
    if (!this.sees("and")) return first;
    const items = [first];
    while (this.sees("and")) {
      this.advance();
      items.push(this.not());
    }
    return (row) => items.every((t) => t(row));
  }

  private not(): Test {
    if (!this.sees("not")) return this.comparison();
    const inner = this.nested(() => {
      this.advance();
      return this.not();
    });
    return (row) => !inner(row);
  }

  private comparison(): Test {
    if (this.sees("(")) return this.group();
    const start = this.tok.pos;
    const left = this.value();
    const op = this.operator();
    if (op === null) {
      if (VALUE_STARTS.has(this.tok.kind)) {
        const written = this.text.slice(start, this.end);
        throw this.error(`expected an operator after '${written}', found ${this.found()}`);
      }
      return (row) => truthy(left(row));
    }
    const right = this.value();
    if (COMPARISONS.has(this.tok.kind)) {
      throw this.error("comparisons do not chain; join them with 'and'");
    }
    return (row) => compare(op, left(row), right(row));
  }

  private group(): Test {
    return this.nested(() => {
      this.advance();
      const inner = this.or();
      if (this.sees("end")) throw this.error("expected ')' to close '(', found end of text");
      if (!this.sees(")")) throw this.error(`expected 'and', 'or' or ')', found ${this.found()}`);
      this.advance();
      return inner;
    });
  }

  private operator(): Op | null {
    const tok = this.tok;
    if (tok.kind === "not") {
      this.advance();
      if (!this.sees("in")) {
        throw this.error(`expected 'in' after '${tok.text}', found ${this.found()}`);
      }
      this.advance();
      this.after = `${tok.text} ${this.after}`;
      return "not in";
    }
    if (!COMPARISONS.has(tok.kind)) return null;
    this.advance();
    return tok.kind as Op;
  }

  private value(): Get {
    const tok = this.tok;
    if (tok.kind === "field") {
      const name = tok.value as string;
      this.fields.push(name);
      this.advance();
      return (row) => row(name);
    }
    if (tok.kind !== "value" && tok.kind !== "[") throw this.expectedValue();
    const v = this.literal();
    return () => v;
  }

  private literal(): unknown {
    const tok = this.tok;
    if (tok.kind === "value") {
      this.advance();
      return tok.value;
    }
    if (tok.kind === "field") {
      throw this.error(`a list holds only literal values, found ${this.found()}`);
    }
    if (tok.kind !== "[") throw this.expectedValue();
    return this.nested(() => {
      this.advance();
      const items: unknown[] = [];
      if (this.sees("]")) {
        this.advance();
        return items;
      }
      for (;;) {
        items.push(this.literal());
        if (this.sees("]")) {
          this.advance();
          return items;
        }
        if (!this.sees(",")) {
          throw this.error(`expected ',' or ']' to close the list, found ${this.found()}`);
        }
        this.advance();
      }
    });
  }

  /** Reads one level deeper (a parenthesis, a list, a `not`), refusing past MAX_DEPTH. */
  private nested<T>(read: () => T): T {
    this.depth += 1;
    if (this.depth > MAX_DEPTH) {
      throw this.error(`nested deeper than ${MAX_DEPTH} levels of parentheses, brackets and 'not'`);
    }
    const result = read();
    this.depth -= 1;
    return result;
  }

  private advance(): void {
    this.after = this.tok.text;
    this.end = this.tok.pos + this.tok.text.length;
    this.tok = this.lex();
  }

  // A method, not `this.tok.kind ===`: TypeScript would keep that narrowed across advance().
  private sees(kind: Kind): boolean {
    return this.tok.kind === kind;
  }

  private found(): string {
    return this.tok.kind === "end" ? "end of text" : `'${this.tok.text}'`;
  }

  private expectedValue(): FilterError {
    const after = this.after === "" ? "" : ` after '${this.after}'`;
    return this.error(`expected a value${after}, found ${this.found()}`);
  }

  private error(message: string): FilterError {
    return new FilterError(message, this.tok.pos);
  }

  // -- tokens ------------------------------------------------------------------------------

  private lex(): Token {
    const t = this.text;
    let i = this.at;
    while (i < t.length && SPACE.includes(t.charAt(i))) i += 1;
    const token = (kind: Kind, end: number, value: unknown = null): Token => {
      this.at = end;
      return { kind, text: t.slice(i, end), pos: i, value };
    };
    if (i >= t.length) return token("end", i);
    const c = t.charAt(i);
    if (c === '"' || c === "'") return this.string(i);
    NUMBER.lastIndex = i;
    const number = NUMBER.exec(t);
    if (number !== null) {
      const end = i + number[0].length;
      NUMBER_TAIL.lastIndex = end;
      NUMBER_TAIL.exec(t);
      if (NUMBER_TAIL.lastIndex > end) {
        throw new FilterError(`bad number '${t.slice(i, NUMBER_TAIL.lastIndex)}'`, i);
      }
      return token("value", end, Number(number[0]));
    }
    WORD.lastIndex = c === "-" ? i + 1 : i;
    const word = WORD.exec(t)?.[0];
    if (word !== undefined && c === "-") {
      if (word.toLowerCase() === "inf") return token("value", i + 4, -Infinity);
    } else if (word !== undefined) {
      const lower = word.toLowerCase();
      const end = i + word.length;
      if (KEYWORDS.has(lower)) return token(lower as Kind, end);
      if (LITERALS.has(lower)) return token("value", end, LITERALS.get(lower));
      if (word === "config" || word === "summary") {
        const sep = t.charAt(end);
        if (sep === "." || sep === ":") return this.key(i, word, end + 1, token);
        throw new FilterError(`'${word}' needs a key: ${word}.<key>`, i);
      }
      if (FIELDS.includes(word)) return token("field", end, word);
      throw new FilterError(unknownField(word), i);
    }
    for (const s of [t.slice(i, i + 2), c]) {
      if (SYMBOLS.has(s)) return token(s as Kind, i + s.length);
      const instead = MISTAKES.get(s);
      if (instead !== undefined) {
        throw new FilterError(`'${s}' is not an operator; use ${instead}`, i);
      }
    }
    const cp = t.codePointAt(i) ?? 0;
    const hex = cp.toString(16).toUpperCase().padStart(4, "0");
    const shown = cp > 0x20 && cp < 0x7f ? "" : ` (U+${hex})`;
    throw new FilterError(`unexpected character '${String.fromCodePoint(cp)}'${shown}`, i);
  }

  private string(start: number): Token {
    const t = this.text;
    const quote = t.charAt(start);
    let out = "";
    let i = start + 1;
    for (;;) {
      if (i >= t.length) throw new FilterError("unterminated string", start);
      const c = t.charAt(i);
      if (c === quote) break;
      if (c === "\\") {
        if (i + 1 >= t.length) throw new FilterError("unterminated string", start);
        const e = t.charAt(i + 1);
        const escaped = ESCAPES.get(e);
        if (escaped === undefined) {
          const problem = `unknown escape '\\${e}' in a string; write '\\\\' for a backslash`;
          throw new FilterError(problem, i);
        }
        out += escaped;
        i += 2;
      } else {
        out += c;
        i += 1;
      }
    }
    this.at = i + 1;
    return { kind: "value", text: t.slice(start, i + 1), pos: start, value: out };
  }

  /** `config.lr`, `summary:val/acc`, ``config.`my key` ``: the key starts at `at`. */
  private key(
    start: number,
    word: string,
    at: number,
    token: (kind: Kind, end: number, value: unknown) => Token,
  ): Token {
    const t = this.text;
    if (t.charAt(at) === "`") {
      const close = t.indexOf("`", at + 1);
      if (close < 0) throw new FilterError("unterminated key in backticks", at);
      if (close === at + 1) throw new FilterError("empty key in backticks", at);
      return token("field", close + 1, `${word}.${t.slice(at + 1, close)}`);
    }
    KEY.lastIndex = at;
    const key = KEY.exec(t)?.[0];
    if (key === undefined) {
      throw new FilterError(`expected a key after '${t.slice(start, at)}'`, at);
    }
    return token("field", at + key.length, `${word}.${key}`);
  }
}

function unknownField(word: string): string {
  const like = closest(word, [...FIELDS, "config", "summary"]);
  const hint =
    like === null
      ? ` (a config or summary value is config.${word} or summary.${word}).`
      : `; did you mean '${like}'?`;
  return `unknown field '${word}'${hint} The fields are: ${FIELD_LIST}`;
}

/** The candidate a typo most likely meant: same but for case, a prefix, or a letter or two off. */
function closest(word: string, candidates: string[]): string | null {
  const w = word.toLowerCase();
  let best: string | null = null;
  let bestDistance = w.length <= 4 ? 1 : 2;
  for (const c of candidates) {
    let d = editDistance(w, c);
    const prefix = c.startsWith(w) || w.startsWith(c);
    if (prefix && Math.min(w.length, c.length) >= 3) d = Math.min(d, 1);
    if (d < bestDistance || (best === null && d === bestDistance)) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance, with a swap of two neighbours as one edit ("nmae" is 1 from "name"). */
function editDistance(a: string, b: string): number {
  let before: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, (before[j - 2] ?? 0) + 1);
      }
      row.push(d);
    }
    before = prev;
    prev = row;
  }
  return prev[b.length] ?? 0;
}

// -- semantics ---------------------------------------------------------------------------
// A lookup gives undefined for a field the run lacks. Missing makes every comparison false
// (`!=` too: missing is not "different"), except `== null`, which missing satisfies.

function compare(op: Op, a: unknown, b: unknown): boolean {
  if (op === "==" && (a === null || b === null)) {
    return (a ?? null) === null && (b ?? null) === null;
  }
  if (a === undefined || b === undefined) return false;
  switch (op) {
    case "==":
      return same(a, b);
    case "!=":
      return !same(a, b);
    case "in":
      return contains(b, a);
    case "not in":
      return !contains(b, a);
    default:
      return ordered(op, a, b);
  }
}

/** Equality without coercion: NaN equals NaN (to find diverged runs), `true` is not 1. */
function same(a: unknown, b: unknown): boolean {
  if (typeof a === "number" && typeof b === "number") {
    return a === b || (Number.isNaN(a) && Number.isNaN(b));
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => same(x, b[i]));
  }
  if (isRecord(a) && isRecord(b)) {
    const keys = Object.keys(a);
    return (
      keys.length === Object.keys(b).length &&
      keys.every((k) => Object.prototype.hasOwnProperty.call(b, k) && same(a[k], b[k]))
    );
  }
  return a === b;
}

function ordered(op: Op, a: unknown, b: unknown): boolean {
  let x: number;
  let y: number;
  if (typeof a === "number" && typeof b === "number") {
    x = a;
    y = b;
  } else if (typeof a === "string" && typeof b === "string") {
    x = compareStrings(a, b);
    y = 0;
  } else {
    return false; // a number and a string, booleans, null, lists: no order
  }
  switch (op) {
    case "<":
      return x < y;
    case "<=":
      return x <= y;
    case ">":
      return x > y;
    default:
      return x >= y;
  }
}

/**
 * Strings in code-point order, as Python orders them. `<` on JS strings compares UTF-16 units,
 * which puts "😀" (a surrogate pair, 0xD83D...) before "～" (0xFF5E).
 */
function compareStrings(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a.charCodeAt(i) !== b.charCodeAt(i)) {
      return (a.codePointAt(i) ?? 0) - (b.codePointAt(i) ?? 0);
    }
  }
  return a.length - b.length;
}

/** `x in list` is membership, `"abc" in name` a substring; nothing else contains anything. */
function contains(haystack: unknown, needle: unknown): boolean {
  if (Array.isArray(haystack)) return haystack.some((x) => same(x, needle));
  if (typeof haystack === "string") return typeof needle === "string" && haystack.includes(needle);
  return false;
}

/** What a bare value means as a test (`config.use_bn`, `tags`). */
function truthy(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === "number") return v !== 0 && !Number.isNaN(v);
  if (typeof v === "string") return v !== "";
  if (typeof v === "boolean") return v;
  if (Array.isArray(v)) return v.length > 0;
  if (isRecord(v)) return Object.keys(v).length > 0;
  return true;
}

/** A plain object (a nested config dict), not a Date or other class instance. */
function isRecord(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}
