// The table panel's rows: the filter (text in any string or number cell) and the sort by a
// header click (ascending, descending, then as logged), empty cells and NaN last.

import { describe, expect, it } from "vitest";

import type { Cell, TablePayload } from "../protocol";
import { decodeMediaPayload } from "../protocol";
import { cellText, countText, nextSort, tableRows } from "./table-panel";

function table(columns: string[], data: Cell[][]): TablePayload {
  return { columns, types: columns.map(() => "mixed"), rows: data.length, data };
}

const T = table(
  ["id", "name", "score"],
  [
    [3, "cat", 0.5],
    [1, "Dog", NaN],
    [2, "catfish", 0.25],
    [4, null, 0.75],
  ],
);

describe("table rows", () => {
  it("keeps the logged order without a sort or filter", () => {
    expect(tableRows(T, "", null)).toEqual([0, 1, 2, 3]);
  });

  it("filters on text in string and number cells, ignoring case and blanks", () => {
    expect(tableRows(T, "CAT", null)).toEqual([0, 2]);
    expect(tableRows(T, " dog ", null)).toEqual([1]);
    expect(tableRows(T, "0.25", null)).toEqual([2]);
    expect(tableRows(T, "nan", null)).toEqual([1]);
    expect(tableRows(T, "zebra", null)).toEqual([]);
  });

  it("sorts numbers numerically, both ways, with NaN and empty cells last", () => {
    expect(tableRows(T, "", { column: 0, dir: "asc" })).toEqual([1, 2, 0, 3]);
    expect(tableRows(T, "", { column: 0, dir: "desc" })).toEqual([3, 0, 2, 1]);
    expect(tableRows(T, "", { column: 2, dir: "asc" })).toEqual([2, 0, 3, 1]);
    expect(tableRows(T, "", { column: 2, dir: "desc" })).toEqual([3, 0, 2, 1]);
  });

  it("sorts text, empty last either way, and sorts what the filter kept", () => {
    expect(tableRows(T, "", { column: 1, dir: "asc" })).toEqual([0, 2, 1, 3]);
    expect(tableRows(T, "", { column: 1, dir: "desc" })).toEqual([1, 2, 0, 3]);
    expect(tableRows(T, "cat", { column: 2, dir: "desc" })).toEqual([0, 2]);
  });

  it("is stable for equal cells", () => {
    const t = table(["k"], [[1], [0], [1], [0]]);
    expect(tableRows(t, "", { column: 0, dir: "asc" })).toEqual([1, 3, 0, 2]);
    expect(tableRows(t, "", { column: 0, dir: "desc" })).toEqual([0, 2, 1, 3]);
  });

  it("sorts image cells by caption and does not filter on them", () => {
    const A = `${"a".repeat(64)}.png`;
    const p = decodeMediaPayload("table", {
      columns: ["img"], types: ["image"], rows: 2,
      data: [[{ _type: "image", file: A, thumb: A, w: 1, h: 1, caption: "zeta" }], [{ _type: "image", file: A, thumb: A, w: 1, h: 1, caption: "alpha" }]],
    }); // prettier-ignore
    if (p.kind !== "table") throw new Error(p.kind);
    expect(tableRows(p.table, "", { column: 0, dir: "asc" })).toEqual([1, 0]);
    expect(tableRows(p.table, "alpha", null)).toEqual([]);
  });

  it("cycles the sort on the same header, and starts over on another", () => {
    const a = nextSort(null, 1);
    expect(a).toEqual({ column: 1, dir: "asc" });
    const d = nextSort(a, 1);
    expect(d).toEqual({ column: 1, dir: "desc" });
    expect(nextSort(d, 1)).toBeNull();
    expect(nextSort(d, 0)).toEqual({ column: 0, dir: "asc" });
  });

  it("writes cells and the count as the page shows them", () => {
    expect([NaN, Infinity, -Infinity, 0.1 + 0.2, 3, true, null, "x"].map((c) => cellText(c as Cell))).toEqual([
      "NaN", "inf", "-inf", "0.3", "3", "true", "", "x",
    ]); // prettier-ignore
    expect(countText(2, 10)).toBe("2 of 10 rows");
  });
});
