// The run's points as received, kept at model level so that every view (and every
// re-render, e.g. JupyterLab's windowing) can redraw it all. Arrays grow by doubling.

import type { Points } from "./protocol";

export const TIME_KEY = "_time";

export class Series {
  steps: Float64Array = new Float64Array(256);
  values: Float64Array = new Float64Array(256);
  length = 0;
  /** Bumped on every append, so charts can tell whether they are stale. */
  version = 0;

  constructor(readonly key: string) {}

  append(steps: ArrayLike<number>, values: ArrayLike<number>): void {
    const n = steps.length;
    const need = this.length + n;
    if (need > this.steps.length) {
      let cap = this.steps.length;
      while (cap < need) cap *= 2;
      const s = new Float64Array(cap);
      s.set(this.steps.subarray(0, this.length));
      const v = new Float64Array(cap);
      v.set(this.values.subarray(0, this.length));
      this.steps = s;
      this.values = v;
    }
    this.steps.set(steps, this.length);
    this.values.set(values, this.length);
    this.length = need;
    this.version++;
  }

  stepsView(): Float64Array {
    return this.steps.subarray(0, this.length);
  }

  valuesView(): Float64Array {
    return this.values.subarray(0, this.length);
  }

  last(): number {
    return this.length ? (this.values[this.length - 1] as number) : NaN;
  }
}

/** All series of one run; `t0` is the run's start (Unix seconds) for the wall-time axis. */
export class SeriesStore {
  readonly series = new Map<string, Series>();
  t0 = 0;
  /** Order in which keys first arrived (the charts' order). */
  readonly keys: string[] = [];

  /** Append the points of one decoded points message; returns the keys it touched. */
  ingest(points: Points): string[] {
    this.t0 = points.t0;
    const touched: string[] = [];
    for (const p of points.series) {
      let s = this.series.get(p.key);
      if (!s) {
        s = new Series(p.key);
        this.series.set(p.key, s);
        this.keys.push(p.key);
      }
      s.append(p.steps, p.values);
      touched.push(p.key);
    }
    return touched;
  }

  metricKeys(): string[] {
    return this.keys.filter((k) => k !== TIME_KEY);
  }
}
