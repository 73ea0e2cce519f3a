import { describe, expect, it } from "vitest";

import { commonRange, heatColor, rebin } from "./rebin";

describe("rebin", () => {
  it("keeps counts when the ranges are equal", () => {
    const out = new Float64Array(4);
    rebin([1, 2, 3, 4], 0, 4, 0, 4, 4, out);
    expect(Array.from(out)).toEqual([1, 2, 3, 4]);
  });

  it("splits a bin by overlap and keeps the total", () => {
    const out = new Float64Array(4);
    rebin([4, 8], -1, 1, -2, 2, 4, out);
    expect(Array.from(out)).toEqual([0, 4, 8, 0]);
    const fine = new Float64Array(8);
    rebin([3], 0, 1, 0, 1, 8, fine);
    expect(fine.reduce((a, b) => a + b, 0)).toBeCloseTo(3);
    expect(fine[0]).toBeCloseTo(3 / 8);
  });

  it("puts a degenerate range into one row", () => {
    const out = new Float64Array(2);
    rebin([5], 0.25, 0.25, 0, 1, 2, out);
    expect(Array.from(out)).toEqual([5, 0]);
  });

  it("clips what falls outside", () => {
    const out = new Float64Array(2);
    rebin([1, 1, 1, 1], -2, 2, -1, 1, 2, out);
    expect(Array.from(out)).toEqual([1, 1]);
  });
});

describe("commonRange", () => {
  it("spans all steps and widens a single value", () => {
    expect(commonRange([-1, 0], [1, 3])).toEqual([-1, 3]);
    expect(commonRange([2], [2])).toEqual([1.5, 2.5]);
    expect(commonRange([], [])).toEqual([0, 1]);
  });
});

describe("heatColor", () => {
  it("is white for empty cells and darkens with the count", () => {
    expect(heatColor(0)).toEqual([255, 255, 255]);
    expect(heatColor(1)).toEqual([15, 23, 42]);
    expect(heatColor(0.25)[2]).toBeGreaterThan(heatColor(0.75)[2]);
  });
});
