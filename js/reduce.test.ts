import { describe, expect, it } from "vitest";

import { extent, isolatedPoints, lowerBound, reduceMinMax, upperBound } from "./reduce";

function ramp(n: number): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}

describe("reduceMinMax", () => {
  it("keeps about two points per pixel column of a million points", () => {
    const n = 1_000_000;
    const x = ramp(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) y[i] = Math.sin(i / 1000);
    const r = reduceMinMax(x, y, n, 0, n - 1, 800, { sorted: true });
    expect(r.x.length).toBeLessThanOrEqual(2 * 801 + 2);
    expect(r.x.length).toBeGreaterThan(800);
  });

  it("never samples a spike away", () => {
    const n = 100_000;
    const x = ramp(n);
    const y = new Float64Array(n).fill(1);
    y[54_321] = 1e6;
    y[12_345] = -1e6;
    const r = reduceMinMax(x, y, n, 0, n - 1, 300, { sorted: true });
    expect(Math.max(...r.y)).toBe(1e6);
    expect(Math.min(...r.y)).toBe(-1e6);
    expect(r.x).toContain(54_321);
  });

  it("keeps the order points were logged in within a column", () => {
    const x = Float64Array.from([0, 0.1, 0.2, 0.3]);
    const y = Float64Array.from([5, 9, 1, 5]);
    const r = reduceMinMax(x, y, 4, 0, 10, 10, { sorted: true });
    expect(r.y).toEqual([9, 1]);
    expect(r.x).toEqual([0.1, 0.2]);
  });

  it("turns NaN and inf into one gap each", () => {
    const x = ramp(6);
    const y = Float64Array.from([1, NaN, Infinity, 2, -Infinity, 3]);
    const r = reduceMinMax(x, y, 6, 0, 5, 1000, { sorted: true });
    expect(r.y.map((v) => (Number.isNaN(v) ? "gap" : v))).toEqual([1, "gap", 2, "gap", 3]);
  });

  it("makes gaps of values <= 0 on a log axis", () => {
    const x = ramp(4);
    const y = Float64Array.from([1, 0, -1, 10]);
    const r = reduceMinMax(x, y, 4, 0, 3, 1000, { sorted: true, logY: true });
    expect(r.y.map((v) => (Number.isNaN(v) ? "gap" : v))).toEqual([1, "gap", 10]);
  });

  it("reduces only the visible range, plus one point on each side", () => {
    const x = ramp(1000);
    const y = ramp(1000);
    const r = reduceMinMax(x, y, 1000, 100, 199, 1000, { sorted: true });
    expect(r.x[0]).toBe(99);
    expect(r.x[r.x.length - 1]).toBe(200);
    expect(r.x.length).toBe(102);
  });

  it("handles an unsorted x by scanning everything", () => {
    const x = Float64Array.from([3, 1, 2]);
    const y = Float64Array.from([30, 10, 20]);
    const r = reduceMinMax(x, y, 3, 0, 4, 1000, { sorted: false });
    expect(r.x).toEqual([3, 1, 2]);
  });

  it("handles empty and single-point input", () => {
    expect(reduceMinMax([], [], 0, 0, 1, 10, { sorted: true }).x).toEqual([]);
    expect(reduceMinMax([5], [7], 1, 5, 5, 10, { sorted: true })).toEqual({ x: [5], y: [7] });
  });
});

describe("bounds and extent", () => {
  it("finds insertion points", () => {
    const x = Float64Array.from([0, 1, 1, 2]);
    expect(lowerBound(x, 4, 1)).toBe(1);
    expect(upperBound(x, 4, 1)).toBe(3);
  });

  it("ignores non-finite values and, on log axes, non-positive ones", () => {
    expect(extent([[1, NaN, 3], [-2, Infinity]])).toEqual([-2, 3]);
    expect(extent([[0, 2, -1]], true)).toEqual([2, 2]);
    expect(extent([[NaN]])).toBeNull();
  });
});

describe("isolatedPoints (drawn as markers: a line glyph draws nothing for them)", () => {
  it("holds the one point of a metric logged once, as the chart reduces it", () => {
    // The chart follows the data: x spans [step - 1, step + 1] around a lone point.
    const line = reduceMinMax([50], [0.875], 1, 49, 51, 600, { sorted: true, xFinite: true });
    expect(line).toEqual({ x: [50], y: [0.875] });
    expect(isolatedPoints(line)).toEqual({ x: [50], y: [0.875] });
  });

  it("holds a point between gaps, and no point a segment touches", () => {
    const x = [0, 1, 2, 3, 4, 5, 6];
    const y = [1, NaN, 3, NaN, 5, 6, NaN];
    const line = reduceMinMax(x, y, 7, 0, 6, 600, { sorted: true });
    expect(isolatedPoints(line)).toEqual({ x: [0, 2], y: [1, 3] });
  });

  it("is empty for an ordinary line, and on a log axis counts values <= 0 as gaps", () => {
    const x = ramp(100);
    expect(isolatedPoints(reduceMinMax(x, x, 100, 0, 99, 600, { sorted: true })).x).toEqual([]);
    const line = reduceMinMax([0, 1, 2], [-1, 2, 0], 3, 0, 2, 600, { sorted: true, logY: true });
    expect(isolatedPoints(line)).toEqual({ x: [1], y: [2] });
  });
});
