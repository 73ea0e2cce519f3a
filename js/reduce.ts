// Per-pixel min/max reduction: what a chart hands to Bokeh instead of the raw series.
//
// The visible x range is cut into one bin per pixel column; each bin keeps its lowest and
// highest point, in the order they were logged, so a spike survives any zoom level and a
// million points become about two per column. Non-finite values (and, on a log axis,
// values <= 0) become a single NaN: Bokeh draws a gap there.

import { MinMaxPyramid, PYRAMID_BASE } from "./minmax-pyramid";

export interface Reduced {
  x: number[];
  y: number[];
}

/** First index i with x[i] >= v, for x sorted ascending over [0, n). */
export function lowerBound(x: ArrayLike<number>, n: number, v: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((x[mid] as number) < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index i with x[i] > v, for x sorted ascending over [0, n). */
export function upperBound(x: ArrayLike<number>, n: number, v: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((x[mid] as number) <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface ReduceOptions {
  /** x is non-decreasing: the visible part is found by binary search. */
  sorted: boolean;
  /** Values <= 0 cannot be drawn on a log axis: they become gaps. */
  logY?: boolean;
  /**
   * A min/max pyramid of `y` (extended here to `n`). With a sorted x that is finite
   * everywhere (`xFinite`), a wide range is reduced from its buckets: same result, O(pixels).
   */
  pyramid?: MinMaxPyramid;
  xFinite?: boolean;
}

// Below this many points a column the plain scan is as quick as walking the pyramid.
const PYRAMID_MIN_PER_COLUMN = 8;

/**
 * Reduce points (x[i], y[i]), i < n, to at most about two per pixel column of the range
 * [x0, x1] drawn `columns` pixels wide. One point on either side of the range is kept so
 * the line runs to the chart's edges.
 *
 * Example: `reduceMinMax(steps, values, n, 0, 1e6, 800, { sorted: true }).x.length <= 1604`.
 */
export function reduceMinMax(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  n: number,
  x0: number,
  x1: number,
  columns: number,
  opts: ReduceOptions,
): Reduced {
  const out: Reduced = { x: [], y: [] };
  if (n === 0) return out;
  let from = 0;
  let to = n;
  if (opts.sorted) {
    from = Math.max(0, lowerBound(x, n, x0) - 1);
    to = Math.min(n, upperBound(x, n, x1) + 1);
  }
  const span = x1 - x0;
  const scale = span > 0 ? Math.max(1, columns) / span : 0;
  const r = new Reduction(x, y, opts.logY === true, out);
  const pyr = opts.pyramid;
  if (pyr && opts.sorted && opts.xFinite && to - from > PYRAMID_MIN_PER_COLUMN * Math.max(1, columns)) {
    pyr.update(y, n);
    r.byColumns(pyr, from, to, x0, scale);
  } else {
    r.scan(from, to, x0, scale);
  }
  return r.finish();
}

// One reduction's state: the open column's first lowest and highest point, and whether the
// last thing emitted is a gap. Both ways of walking the points feed the same steps, so they
// give the same output.
class Reduction {
  private minI = -1;
  private maxI = -1;
  private gap = false;

  constructor(
    private readonly x: ArrayLike<number>,
    private readonly y: ArrayLike<number>,
    private readonly logY: boolean,
    private readonly out: Reduced,
  ) {}

  /** Every point of [from, to), one at a time. */
  scan(from: number, to: number, x0: number, scale: number): void {
    const { x } = this;
    let col = NaN;
    for (let i = from; i < to; i++) {
      const xi = x[i] as number;
      if (!Number.isFinite(xi)) continue;
      if (!this.finiteAt(i)) {
        this.gapAt(i);
        continue;
      }
      // Points outside the range get their own bins (below 0 or at `columns` and past).
      const c = Math.floor((xi - x0) * scale);
      if (c !== col) {
        this.flush();
        col = c;
      }
      this.take(i, i);
    }
  }

  /** Column by column: its index range by binary search, its extremes from the pyramid. */
  byColumns(pyr: MinMaxPyramid, from: number, to: number, x0: number, scale: number): void {
    const { x } = this;
    let i = from;
    while (i < to) {
      const c = Math.floor(((x[i] as number) - x0) * scale);
      // First index past this column (the same floor() as `scan`, so the same columns).
      let lo = i + 1;
      let hi = to;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (Math.floor(((x[mid] as number) - x0) * scale) > c) hi = mid;
        else lo = mid + 1;
      }
      this.range(pyr, i, lo);
      this.flush();
      i = lo;
    }
  }

  private range(pyr: MinMaxPyramid, a: number, b: number): void {
    const levels = pyr.levels;
    let i = a;
    while (i < b) {
      // The largest whole bucket that starts at i and ends by b.
      let j = -1;
      while (j + 1 < levels.length) {
        const size = PYRAMID_BASE << (j + 1);
        if (i % size !== 0 || i + size > b) break;
        const k = i / size;
        if (k >= (levels[j + 1] as { count: number }).count) break;
        j++;
      }
      if (j < 0) {
        this.point(i);
        i++;
      } else {
        this.bucket(pyr, j, i / (PYRAMID_BASE << j));
        i += PYRAMID_BASE << j;
      }
    }
  }

  private bucket(pyr: MinMaxPyramid, j: number, k: number): void {
    const lv = pyr.levels[j] as MinMaxPyramid["levels"][number];
    const mi = lv.minI[k] as number;
    // A bucket with a gap in it (or, on a log axis, a value <= 0) is walked into.
    if (lv.dirty[k] === 0 && !(this.logY && (this.y[mi] as number) <= 0)) {
      this.take(mi, lv.maxI[k] as number);
      return;
    }
    if (j === 0) {
      const start = k * PYRAMID_BASE;
      for (let i = start; i < start + PYRAMID_BASE; i++) this.point(i);
      return;
    }
    this.bucket(pyr, j - 1, 2 * k);
    this.bucket(pyr, j - 1, 2 * k + 1);
  }

  private point(i: number): void {
    if (this.finiteAt(i)) this.take(i, i);
    else this.gapAt(i);
  }

  private finiteAt(i: number): boolean {
    const v = this.y[i] as number;
    return Number.isFinite(v) && !(this.logY && v <= 0);
  }

  /** Add a run of points whose first lowest is `mi` and first highest `ma`. */
  private take(mi: number, ma: number): void {
    const { y } = this;
    if (this.minI < 0) {
      this.minI = mi;
      this.maxI = ma;
    } else {
      if ((y[mi] as number) < (y[this.minI] as number)) this.minI = mi;
      if ((y[ma] as number) > (y[this.maxI] as number)) this.maxI = ma;
    }
  }

  private gapAt(i: number): void {
    this.flush();
    if (!this.gap && this.out.x.length > 0) {
      this.out.x.push(this.x[i] as number);
      this.out.y.push(NaN);
      this.gap = true;
    }
  }

  flush(): void {
    if (this.minI < 0) return;
    const { x, y, out } = this;
    const a = Math.min(this.minI, this.maxI);
    const b = Math.max(this.minI, this.maxI);
    out.x.push(x[a] as number);
    out.y.push(y[a] as number);
    if (b !== a) {
      out.x.push(x[b] as number);
      out.y.push(y[b] as number);
    }
    this.minI = -1;
    this.maxI = -1;
    this.gap = false;
  }

  finish(): Reduced {
    this.flush();
    if (this.gap) {
      this.out.x.pop();
      this.out.y.pop();
    }
    return this.out;
  }
}

/** Lowest and highest finite y of reduced lines (for fitting the y axis). */
export function extent(ys: number[][], logY = false): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const arr of ys) {
    for (const v of arr) {
      if (!Number.isFinite(v) || (logY && v <= 0)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return lo <= hi ? [lo, hi] : null;
}

/**
 * The points of a reduced line that no segment touches: a series of one point (a final
 * test accuracy logged once), or a point between two gaps. A line glyph draws nothing for
 * them, so the chart draws these as markers.
 *
 * Example: `isolatedPoints({ x: [5], y: [0.9] })` is `{ x: [5], y: [0.9] }`.
 */
export function isolatedPoints(line: Reduced): Reduced {
  const out: Reduced = { x: [], y: [] };
  const { x, y } = line;
  const drawn = (i: number): boolean => i >= 0 && i < y.length && Number.isFinite(y[i] as number);
  for (let i = 0; i < y.length; i++) {
    if (drawn(i) && !drawn(i - 1) && !drawn(i + 1)) {
      out.x.push(x[i] as number);
      out.y.push(y[i] as number);
    }
  }
  return out;
}
