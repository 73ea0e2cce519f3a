// Per-pixel min/max reduction: what a chart hands to Bokeh instead of the raw series.
//
// The visible x range is cut into one bin per pixel column; each bin keeps its lowest and
// highest point, in the order they were logged, so a spike survives any zoom level and a
// million points become about two per column. Non-finite values (and, on a log axis,
// values <= 0) become a single NaN: Bokeh draws a gap there.

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
}

/**
 * Reduce points (x[i], y[i]), i < n, to at most about two per pixel column of the range
 * [x0, x1] drawn `columns` pixels wide. One point on either side of the range is kept so
 * the line runs to the chart's edges.
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
  const logY = opts.logY === true;
  let col = NaN;
  let minI = -1;
  let maxI = -1;
  let gap = false; // the last thing emitted is a gap

  const flush = (): void => {
    if (minI < 0) return;
    const a = Math.min(minI, maxI);
    const b = Math.max(minI, maxI);
    out.x.push(x[a] as number);
    out.y.push(y[a] as number);
    if (b !== a) {
      out.x.push(x[b] as number);
      out.y.push(y[b] as number);
    }
    minI = -1;
    maxI = -1;
    gap = false;
  };

  for (let i = from; i < to; i++) {
    const xi = x[i] as number;
    if (!Number.isFinite(xi)) continue;
    const yi = y[i] as number;
    if (!Number.isFinite(yi) || (logY && yi <= 0)) {
      flush();
      if (!gap && out.x.length > 0) {
        out.x.push(xi);
        out.y.push(NaN);
        gap = true;
      }
      continue;
    }
    // Points outside the range get their own bins (below 0 or at `columns` and past).
    const c = Math.floor((xi - x0) * scale);
    if (c !== col) {
      flush();
      col = c;
    }
    if (minI < 0) {
      minI = i;
      maxI = i;
    } else {
      if (yi < (y[minI] as number)) minI = i;
      if (yi > (y[maxI] as number)) maxI = i;
    }
  }
  flush();
  if (gap) {
    out.x.pop();
    out.y.pop();
  }
  return out;
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
