// The x values of a series under each x-axis choice: step, time since the run started,
// wall-clock time, or the value of another logged metric (e.g. `epoch`) at that step.
// Derived arrays are extended as points arrive, never recomputed from the start.

import type { Series, SeriesStore } from "./series-store";
import { TIME_KEY } from "./series-store";

export type XMode = "step" | "relative" | "wall" | string;

export function xLabel(mode: XMode): string {
  if (mode === "step") return "step";
  if (mode === "relative") return "time (s)";
  if (mode === "wall") return "wall time";
  return mode;
}

/** x values of one series under one mode, extended incrementally. */
export class XColumn {
  x: Float64Array = new Float64Array(0);
  length = 0;
  /** x never decreases: the visible range can be found by binary search. */
  sorted = true;
  /** Every x is finite (a NaN x, e.g. before an x metric's first point, is left out). */
  finite = true;
  private nonFinite = 0; // among the x values that will not change any more, [0, length)
  private cursor = 0; // position in the source series, both walking forward

  constructor(
    readonly series: Series,
    readonly mode: XMode,
    private readonly store: SeriesStore,
  ) {}

  update(): Float64Array {
    const s = this.series;
    const n = s.length;
    if (this.mode === "step") {
      this.sorted = this.sorted && isSortedFrom(s.steps, this.length, n);
      this.nonFinite += countNonFinite(s.steps, this.length, n);
      this.finite = this.nonFinite === 0;
      this.length = n;
      return s.stepsView();
    }
    if (n > this.x.length) {
      const grown = new Float64Array(Math.max(n, this.x.length * 2, 256));
      grown.set(this.x.subarray(0, this.length));
      this.x = grown;
    }
    const srcKey = this.mode === "relative" || this.mode === "wall" ? TIME_KEY : this.mode;
    const src = this.store.series.get(srcKey);
    const scale = this.mode === "wall" ? 1000 : 1;
    const offset = this.mode === "wall" ? this.store.t0 * 1000 : 0;
    let j = this.cursor;
    const from = this.length;
    const srcLast = src && src.length ? (src.steps[src.length - 1] as number) : -Infinity;
    // Points past the source's last step are drawn with its last value for now and
    // computed again when more of the source has arrived.
    let done = n;
    let cursorAtDone = j;
    for (let i = from; i < n; i++) {
      const step = s.steps[i] as number;
      if (done === n && step > srcLast) {
        done = i;
        cursorAtDone = j;
      }
      let v = NaN;
      if (src) {
        // The source's value at its last step <= this step.
        const m = src.length;
        if (j > 0 && (src.steps[j - 1] as number) > step) j = 0;
        while (j < m && (src.steps[j] as number) <= step) j++;
        if (j > 0) v = (src.values[j - 1] as number) * scale + offset;
      }
      this.x[i] = v;
    }
    this.cursor = done === n ? j : cursorAtDone;
    this.sorted = this.sorted && isSortedFrom(this.x, from, n);
    this.nonFinite += countNonFinite(this.x, from, done);
    this.finite = this.nonFinite === 0 && countNonFinite(this.x, done, n) === 0;
    this.length = done;
    return this.x.subarray(0, n);
  }
}

function isSortedFrom(a: Float64Array, from: number, to: number): boolean {
  for (let i = Math.max(1, from); i < to; i++) {
    if ((a[i] as number) < (a[i - 1] as number)) return false;
  }
  return true;
}

function countNonFinite(a: Float64Array, from: number, to: number): number {
  let k = 0;
  for (let i = from; i < to; i++) if (!Number.isFinite(a[i] as number)) k++;
  return k;
}
