import { describe, expect, it } from "vitest";

import { Ema, smooth } from "./smoothing";

describe("EMA with debiasing", () => {
  it("does not pull the first points toward zero", () => {
    const s = smooth([10, 10, 10], 0.9);
    expect(s[0]).toBeCloseTo(10);
    expect(s[2]).toBeCloseTo(10);
  });

  it("matches TensorBoard's formula", () => {
    const w = 0.6;
    const v = [1, 2, 3];
    let last = 0;
    const expected = v.map((x, i) => {
      last = last * w + (1 - w) * x;
      return last / (1 - Math.pow(w, i + 1));
    });
    const s = smooth(v, w);
    expected.forEach((e, i) => expect(s[i]).toBeCloseTo(e, 12));
  });

  it("is the raw series at weight 0", () => {
    expect(Array.from(smooth([3, 1, 4], 0))).toEqual([3, 1, 4]);
  });

  it("passes NaN and inf through without disturbing the average", () => {
    const s = smooth([1, NaN, Infinity, 1], 0.5);
    expect(Number.isNaN(s[1])).toBe(true);
    expect(s[2]).toBe(Infinity);
    expect(s[3]).toBeCloseTo(1);
  });

  it("extends incrementally to the same result as all at once", () => {
    const v = Float64Array.from({ length: 100 }, (_, i) => Math.sin(i));
    const e = new Ema(0.8);
    e.update(v, 40);
    const inc = e.update(v, 100);
    expect(Array.from(inc)).toEqual(Array.from(smooth(v, 0.8)));
  });
});
