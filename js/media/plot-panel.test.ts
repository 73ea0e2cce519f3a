// What the plot panel hands to BokehJS: series per series column, bars, the 20 histogram
// bins computed in the page, and the confusion matrix's grid.

import { describe, expect, it } from "vitest";

import type { Cell, PlotPayload } from "../protocol";
import { barData, confusionGrid, heatFill, HIST_BINS, histogramBins, histogramValues, xySeries } from "./plot-panel";

function plot(kind: string, fields: Record<string, string | null>, columns: string[], data: Cell[][], classes: string[] = []): PlotPayload {
  return { plot: kind, title: null, fields, classes, table: { columns, types: columns.map(() => "mixed"), rows: data.length, data } };
}

describe("x/y series", () => {
  it("groups rows by the series column in first-seen order, dropping non-finite points", () => {
    const p = plot("line_series", { x: "step", y: "value", series: "series" }, ["step", "value", "series"], [
      [0, 1, "a"], [0, 2, "b"], [1, 3, "a"], [2, NaN, "a"], [1, null, "b"], [2, 4, "b"],
    ]); // prettier-ignore
    expect(xySeries(p)).toEqual([
      { name: "a", xs: [0, 1], ys: [1, 3] },
      { name: "b", xs: [0, 2], ys: [2, 4] },
    ]);
  });

  it("is one series named by y without a series column; none for a missing column", () => {
    const p = plot("scatter", { x: "x", y: "y", series: null }, ["x", "y"], [[1, 2], [3, 4]]);
    expect(xySeries(p)).toEqual([{ name: "y", xs: [1, 3], ys: [2, 4] }]);
    expect(xySeries(plot("line", { x: "nope", y: "y" }, ["x", "y"], [[1, 2]]))).toEqual([]);
  });

  it("names pr and roc curves' series by their class", () => {
    const p = plot("roc_curve", { x: "fpr", y: "tpr", series: "class" }, ["class", "fpr", "tpr"], [["cat", 0, 0], ["cat", 1, 1], [0, 0, 0.5]]);
    expect(xySeries(p).map((s) => s.name)).toEqual(["cat", "0"]);
  });
});

describe("bars", () => {
  it("keeps a label and a value a row, labels made unique", () => {
    const p = plot("bar", { label: "l", value: "v" }, ["l", "v"], [["a", 1], ["b", 2], ["a", 3], ["c", NaN]]);
    expect(barData(p)).toEqual({ labels: ["a", "b", "a (2)"], values: [1, 2, 3] });
  });
});

describe("histogram bins", () => {
  it("makes 20 equal bins over the finite values, the maximum in the last", () => {
    const values = Array.from({ length: 101 }, (_, i) => i / 10); // 0 .. 10
    const b = histogramBins([...values, NaN, Infinity]);
    expect(b.counts).toHaveLength(HIST_BINS);
    expect(b.left[0]).toBe(0);
    expect(b.right[HIST_BINS - 1]).toBe(10);
    expect(b.counts.reduce((a, c) => a + c, 0)).toBe(101);
    expect(b.counts[HIST_BINS - 1]).toBe(6); // 9.5 .. 10 inclusive
    for (let i = 1; i < HIST_BINS; i++) expect(b.left[i]).toBeCloseTo(b.right[i - 1] as number);
  });

  it("splits a small case exactly", () => {
    expect(histogramBins([0, 1, 2, 3], 2)).toEqual({ left: [0, 1.5], right: [1.5, 3], counts: [2, 2] });
  });

  it("gives one value a bin of its own, and no values no bins", () => {
    expect(histogramBins([5, 5, 5])).toEqual({ left: [4.5], right: [5.5], counts: [3] });
    expect(histogramBins([NaN])).toEqual({ left: [], right: [], counts: [] });
    expect(histogramBins([])).toEqual({ left: [], right: [], counts: [] });
  });

  it("reads the value column's numbers", () => {
    const p = plot("histogram", { value: "v" }, ["v"], [[1], ["2"], [null], [NaN], [true]]);
    expect(histogramValues(p)).toEqual([1, 2, 1]);
  });
});

describe("confusion matrix", () => {
  it("sums counts per (actual, predicted) in the plot's class order", () => {
    const p = plot("confusion_matrix", { actual: "Actual", predicted: "Predicted", count: "nPredictions" }, ["Actual", "Predicted", "nPredictions"], [
      ["cat", "cat", 5], ["cat", "dog", 1], ["dog", "cat", 2], ["dog", "dog", 7], ["dog", "dog", 1],
    ], ["dog", "cat"]); // prettier-ignore
    const g = confusionGrid(p);
    expect(g.classes).toEqual(["dog", "cat"]);
    expect(g.counts).toEqual([
      [8, 2],
      [1, 5],
    ]);
    expect(g.max).toBe(8);
  });

  it("reads a class given by its number, and adds classes the rows name that the list has not", () => {
    const p = plot("confusion_matrix", { actual: "a", predicted: "p", count: "n" }, ["a", "p", "n"], [[0, 1, 3], ["bird", 0, 1]], ["x", "y"]);
    const g = confusionGrid(p);
    expect(g.classes).toEqual(["x", "y", "bird"]);
    expect(g.counts).toEqual([
      [0, 3, 0],
      [0, 0, 0],
      [1, 0, 0],
    ]);
  });

  it("fills empty cells white and the largest deep, with text that reads on it", () => {
    expect(heatFill(0, 10)).toEqual({ fill: "rgb(247,251,255)", text: "#1e293b" });
    expect(heatFill(10, 10)).toEqual({ fill: "rgb(8,48,107)", text: "#ffffff" });
    expect(heatFill(3, 0).fill).toBe("rgb(247,251,255)");
  });
});
