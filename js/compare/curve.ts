// One run's one metric in the compare view: what arrived of it (a per-bucket envelope, the
// whole series, or both: an envelope with whole ranges fetched on zoom, and live points
// appended at its end), kept as two views of the same points:
//
// - `draw`: what the chart reduces and draws. An envelope's bucket is three points at its
//   step (min, max, last), so the per-pixel min/max reduction draws the same band it would
//   from the whole series, and the line leaves each bucket at its exact last value.
// - `line`: one value per step (a bucket's last), for smoothing, hover and the x axis.

import type { DecodedCurve } from "../compare-protocol";

export class Points {
  x: Float64Array;
  y: Float64Array;
  length = 0;

  constructor(cap = 64) {
    this.x = new Float64Array(cap);
    this.y = new Float64Array(cap);
  }

  push(x: number, y: number): void {
    if (this.length === this.x.length) {
      const nx = new Float64Array(this.x.length * 2);
      nx.set(this.x);
      const ny = new Float64Array(this.y.length * 2);
      ny.set(this.y);
      this.x = nx;
      this.y = ny;
    }
    this.x[this.length] = x;
    this.y[this.length] = y;
    this.length++;
  }

  /** The index of the first point with x >= v (x ascending). */
  lowerBound(v: number): number {
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.x[mid] as number) < v) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The value at the last x <= v; NaN before the first. */
  valueAt(v: number): number {
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.x[mid] as number) <= v) lo = mid + 1;
      else hi = mid;
    }
    return lo > 0 ? (this.y[lo - 1] as number) : NaN;
  }

  lastX(): number {
    return this.length ? (this.x[this.length - 1] as number) : -Infinity;
  }
}

/** A step range that arrived whole (zoom), or the whole curve. */
interface Span {
  start: number;
  end: number;
}

export class Curve {
  draw = new Points();
  line = new Points();
  /** Some of it is still an envelope (not every point is here). */
  coarse = false;
  /** Points per bucket of the envelope (1 when whole). */
  perBucket = 1;
  /** Step ranges that are here whole although the curve is coarse. */
  whole: Span[] = [];
  /** Bumped on every change, so charts and caches can tell they are stale. */
  version = 0;

  constructor(
    readonly run: string,
    readonly key: string,
  ) {}

  /** Take one decoded curve: replace what is here, append to it, or replace a range. */
  take(c: DecodedCurve, range?: [number, number]): void {
    if (range) this.replaceRange(c, range[0], range[1]);
    else if (c.append) this.append(c);
    else this.replace(c);
    this.version++;
  }

  private replace(c: DecodedCurve): void {
    this.draw = new Points(Math.max(64, c.steps.length * (c.envelope ? 3 : 1)));
    this.line = new Points(Math.max(64, c.steps.length));
    this.coarse = c.envelope;
    this.perBucket = c.envelope ? Math.max(1, c.count / Math.max(1, c.steps.length)) : 1;
    this.whole = [];
    addPoints(this.draw, this.line, c, -Infinity, Infinity);
  }

  private append(c: DecodedCurve): void {
    // Live points past what is here; a point at or before the last step is already here.
    const after = this.line.lastX();
    addPoints(this.draw, this.line, c, after, Infinity, true);
  }

  private replaceRange(c: DecodedCurve, start: number, end: number): void {
    const draw = new Points(this.draw.length + c.steps.length * 3);
    const line = new Points(this.line.length + c.steps.length);
    copyWhere(this.draw, draw, (x) => x < start);
    copyWhere(this.line, line, (x) => x < start);
    addPoints(draw, line, c, start, end);
    copyWhere(this.draw, draw, (x) => x > end);
    copyWhere(this.line, line, (x) => x > end);
    this.draw = draw;
    this.line = line;
    if (!c.envelope) this.addWhole(start, end);
  }

  /** Note [start, end] as here whole, merged with the spans it touches. */
  private addWhole(start: number, end: number): void {
    const spans = [...this.whole, { start, end }].sort((a, b) => a.start - b.start);
    const merged: Span[] = [];
    for (const s of spans) {
      const last = merged[merged.length - 1];
      if (last && s.start <= last.end + 1) last.end = Math.max(last.end, s.end);
      else merged.push({ ...s });
    }
    this.whole = merged;
  }

  /** True when every point of [x0, x1] (steps) is here. */
  isWhole(x0: number, x1: number): boolean {
    if (!this.coarse) return true;
    return this.whole.some((s) => s.start <= x0 && s.end >= x1);
  }

  /**
   * Where a range answer must start so that it covers whole buckets from `x` on: just after
   * the last bucket (or point) before `x`. A bucket is drawn at its last step, so one that
   * ends at or after `x` may begin before it; an answer from `x` alone would drop its
   * earlier points (a spike there) when it replaces that bucket.
   */
  coverFrom(x: number): number {
    const i = this.line.lowerBound(x);
    return i > 0 ? (this.line.x[i - 1] as number) + 1 : Math.min(x, this.line.length ? (this.line.x[0] as number) : x);
  }
}

function addPoints(
  draw: Points,
  line: Points,
  c: DecodedCurve,
  from: number,
  to: number,
  exclusive = false,
): void {
  const n = c.steps.length;
  for (let i = 0; i < n; i++) {
    const s = c.steps[i] as number;
    if (exclusive ? s <= from : s < from) continue;
    if (s > to) continue;
    const last = c.last[i] as number;
    if (c.min && c.max) {
      const lo = c.min[i] as number;
      const hi = c.max[i] as number;
      // Drawn from the end nearer the previous point, so the band's edge is where the line was.
      const prev = draw.length ? (draw.y[draw.length - 1] as number) : last;
      if (Math.abs(prev - lo) <= Math.abs(prev - hi)) {
        draw.push(s, lo);
        draw.push(s, hi);
      } else {
        draw.push(s, hi);
        draw.push(s, lo);
      }
    }
    draw.push(s, last);
    line.push(s, last);
  }
}

function copyWhere(src: Points, dst: Points, keep: (x: number) => boolean): void {
  for (let i = 0; i < src.length; i++) {
    const x = src.x[i] as number;
    if (keep(x)) dst.push(x, src.y[i] as number);
  }
}
