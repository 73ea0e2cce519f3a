import { describe, expect, it } from "vitest";

import { Series, SeriesStore } from "./series-store";
import { XColumn } from "./x-axis";

function add(st: SeriesStore, key: string, steps: number[], values: number[]): Series {
  let s = st.series.get(key);
  if (!s) {
    s = new Series(key);
    st.series.set(key, s);
    st.keys.push(key);
  }
  s.append(steps, values);
  return s;
}

describe("XColumn.finite (whether the pyramid may reduce the chart)", () => {
  it("holds for steps", () => {
    const st = new SeriesStore();
    const loss = add(st, "loss", [0, 1, 2], [3, 2, 1]);
    const xc = new XColumn(loss, "step", st);
    xc.update();
    expect(xc.finite).toBe(true);
    expect(xc.sorted).toBe(true);
  });

  it("waits for an x metric that has not arrived yet, and keeps a point without x", () => {
    const st = new SeriesStore();
    const loss = add(st, "loss", [0, 1, 2, 3], [4, 3, 2, 1]);
    const xc = new XColumn(loss, "epoch", st);
    // No epoch yet: the x values are provisional (NaN), so not finite, but not final either.
    expect(Array.from(xc.update())).toEqual([NaN, NaN, NaN, NaN]);
    expect(xc.finite).toBe(false);
    add(st, "epoch", [0, 2], [0, 1]);
    expect(Array.from(xc.update())).toEqual([0, 0, 1, 1]);
    expect(xc.finite).toBe(true);
    // A step before the metric's first point has no x for good.
    const acc = add(st, "acc", [-1, 0, 3], [0.1, 0.2, 0.3]);
    const xa = new XColumn(acc, "epoch", st);
    expect(Array.from(xa.update())).toEqual([NaN, 0, 1]);
    expect(xa.finite).toBe(false);
    add(st, "epoch", [4], [2]);
    add(st, "acc", [4], [0.4]);
    xa.update();
    expect(xa.finite).toBe(false);
  });
});
