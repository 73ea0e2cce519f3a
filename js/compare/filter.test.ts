// The compare view's filter language (filter.ts). Every case of the shared fixture
// (tests/fixtures/filter_cases.json) runs here and in tests/test_filter.py: what both read
// alike is the contract; the rest are JS-only edges.

import { describe, expect, it } from "vitest";

import fixture from "../../tests/fixtures/filter_cases.json";
import { parseNumber } from "../protocol";
import { compileFilter, FilterError, filterFields } from "./filter";
import type { CellValue, CompareRun, FieldLookup } from "./types";
import { runFields } from "./types";

interface Case {
  expr: string;
  matches?: string[];
  fields?: string[];
  error?: string;
  pos?: number;
}

/** A config or summary value with the fixture's "nan"/"inf"/"-inf" read as numbers. */
function numbers(v: unknown): CellValue {
  if (v === "nan" || v === "inf" || v === "-inf") return parseNumber(v);
  if (Array.isArray(v)) return v.map(numbers);
  return v as CellValue;
}

function section(values: Record<string, unknown>): Record<string, CellValue> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, numbers(v)]));
}

const rows: CompareRun[] = fixture.rows.map((r) => ({
  ...(r as unknown as CompareRun),
  config: section(r.config),
  summary: section(r.summary),
}));
const cases = fixture.cases as Case[];

/** The fixture counts positions in code points (as Python does); a JS string in UTF-16 units. */
function utf16(text: string, codePoints: number): number {
  return Array.from(text).slice(0, codePoints).join("").length;
}

function kept(expr: string): string[] {
  const keep = compileFilter(expr);
  return rows.filter((r) => keep(runFields(r))).map((r) => r.id);
}

function failure(expr: string): FilterError {
  try {
    compileFilter(expr);
  } catch (e) {
    if (e instanceof FilterError) return e;
    throw e;
  }
  throw new Error(`no FilterError for ${JSON.stringify(expr)}`);
}

function title(c: Case): string {
  return JSON.stringify(c.expr.length <= 60 ? c.expr : `${c.expr.slice(0, 57)}...`);
}

describe("the shared fixture", () => {
  it("covers every rule", () => {
    expect(cases.filter((c) => c.matches).length).toBeGreaterThanOrEqual(60);
    expect(cases.filter((c) => c.error !== undefined).length).toBeGreaterThanOrEqual(40);
  });

  for (const c of cases) {
    const { matches, error, pos } = c;
    if (matches !== undefined) {
      it(`keeps ${matches.join(", ") || "nothing"} for ${title(c)}`, () => {
        expect(kept(c.expr)).toEqual(matches);
        if (c.fields !== undefined) expect(filterFields(c.expr)).toEqual(c.fields);
      });
    } else if (error !== undefined && pos !== undefined) {
      it(`refuses ${title(c)}`, () => {
        const e = failure(c.expr);
        expect(e.message).toContain(error);
        expect(e.pos).toBe(utf16(c.expr, pos));
      });
    }
  }
});

describe("compileFilter", () => {
  it("throws FilterErrors that are Errors with a name", () => {
    const e = failure("config.lr < ");
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe("FilterError");
    expect(e.message).toBe("expected a value after '<', found end of text");
    expect(e.pos).toBe(12);
  });

  it("points pos at the character in UTF-16 units, as an input's selection counts", () => {
    const text = '"😀" == name #';
    expect(text[failure(text).pos]).toBe("#");
  });

  it("knows no field or literal from Object's prototype", () => {
    expect(() => compileFilter("constructor == 1")).toThrow("unknown field 'constructor'");
    expect(() => compileFilter("toString")).toThrow(FilterError);
  });

  it("reads values a lookup may give that JSON cannot", () => {
    const values: Record<string, unknown> = {
      "config.a": -0,
      "config.d": new Date(0),
      "config.e": {},
    };
    const row: FieldLookup = (field) => values[field];
    expect(compileFilter("config.a == 0")(row)).toBe(true);
    expect(compileFilter("config.e")(row)).toBe(false); // an empty object is not truthy here
    expect(compileFilter("config.e == null")(row)).toBe(false);
    expect(compileFilter("config.d")(row)).toBe(true);
    expect(compileFilter("config.d == 0 or config.d < 1")(row)).toBe(false);
  });

  it("runs no code: what looks like JavaScript is refused", () => {
    for (const text of ["globalThis.x = 1", "name; alert(1)", "`${1}`", "(() => true)()"]) {
      expect(() => compileFilter(text)).toThrow(FilterError);
    }
  });
});

describe("filterFields", () => {
  it("lists each field once, in order of first use", () => {
    const text = 'summary:val/acc > 0.9 and (config.lr < 1 or summary.val/acc == nan) and "a" in tags';
    expect(filterFields(text)).toEqual(["summary.val/acc", "config.lr", "tags"]);
  });

  it("throws what compileFilter throws", () => {
    expect(() => filterFields("nmae == 1")).toThrow("did you mean 'name'?");
  });
});
