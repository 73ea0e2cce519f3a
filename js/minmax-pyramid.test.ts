import { describe, expect, it } from "vitest";

import { MinMaxPyramid } from "./minmax-pyramid";
import { reduceMinMax } from "./reduce";

// A small deterministic generator, so a failure can be replayed.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

interface Case {
  x: Float64Array;
  y: Float64Array;
}

function series(n: number, seed: number, opts: { gaps?: number; repeats?: boolean } = {}): Case {
  const r = rng(seed);
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  let step = 0;
  for (let i = 0; i < n; i++) {
    // Repeated steps (x ties) and uneven spacing, as a resumed run or time axis has.
    if (!opts.repeats || r() > 0.2) step += r() < 0.1 ? 1 + Math.floor(r() * 50) : 1;
    x[i] = step;
    y[i] = Math.sin(i / 300) + (r() - 0.5) * 0.2;
    if (r() < 0.0005) y[i] = (r() - 0.5) * 1e6; // spikes
    if (r() < 0.01) y[i] = Math.round(y[i] as number); // ties between equal values
    if (opts.gaps && r() < opts.gaps) {
      const g = r();
      y[i] = g < 0.4 ? NaN : g < 0.7 ? Infinity : -Infinity;
    }
  }
  return { x, y };
}

function both(c: Case, n: number, x0: number, x1: number, columns: number, logY = false) {
  const naive = reduceMinMax(c.x, c.y, n, x0, x1, columns, { sorted: true, logY });
  const pyramid = new MinMaxPyramid();
  const fast = reduceMinMax(c.x, c.y, n, x0, x1, columns, {
    sorted: true,
    logY,
    pyramid,
    xFinite: true,
  });
  return { naive, fast, pyramid };
}

describe("MinMaxPyramid", () => {
  it("gives the naive reduction exactly, over many ranges and widths", () => {
    const n = 200_000;
    const c = series(n, 1);
    const r = rng(7);
    const last = c.x[n - 1] as number;
    for (let t = 0; t < 40; t++) {
      const a = r() * last * 1.1 - last * 0.05;
      const b = a + r() * (last - a) + 1;
      const cols = 50 + Math.floor(r() * 1500);
      const { naive, fast } = both(c, n, a, b, cols);
      expect(fast).toEqual(naive);
    }
  });

  it("is used for wide ranges: a million points read few buckets, spikes kept", () => {
    const n = 1_000_000;
    const x = new Float64Array(n);
    const y = new Float64Array(n).fill(1);
    for (let i = 0; i < n; i++) x[i] = i;
    y[500_001] = 1e9;
    y[123_457] = -1e9;
    const { naive, fast, pyramid } = both({ x, y }, n, 0, n - 1, 800);
    expect(pyramid.n).toBe(n); // the fast path ran
    expect(fast).toEqual(naive);
    expect(fast.y).toContain(1e9);
    expect(fast.y).toContain(-1e9);
    expect(fast.x.length).toBeLessThanOrEqual(2 * 802);
  });

  it("keeps NaN and inf as the same gaps as the naive reduction", () => {
    for (const gaps of [0.0003, 0.01, 0.3]) {
      const n = 100_000;
      const c = series(n, 3, { gaps });
      for (const cols of [60, 400, 1200]) {
        const { naive, fast } = both(c, n, 0, c.x[n - 1] as number, cols);
        expect(fast).toEqual(naive);
        expect(fast.y.some(Number.isNaN)).toBe(true);
      }
    }
  });

  it("keeps values <= 0 as gaps on a log axis", () => {
    const n = 50_000;
    const c = series(n, 5, { gaps: 0.001 });
    // Mostly positive, with stretches <= 0 and single zeros.
    for (let i = 0; i < n; i++) c.y[i] = (c.y[i] as number) + 0.9;
    c.y[1234] = 0;
    for (const cols of [80, 700]) {
      const { naive, fast } = both(c, n, 0, c.x[n - 1] as number, cols, true);
      expect(fast).toEqual(naive);
      expect(fast.y.every((v) => Number.isNaN(v) || v > 0)).toBe(true);
    }
  });

  it("handles repeated x values and ranges past the data", () => {
    const n = 30_000;
    const c = series(n, 9, { repeats: true, gaps: 0.002 });
    const last = c.x[n - 1] as number;
    for (const [a, b] of [[-100, last + 100], [last / 3, last / 2], [last + 5, last + 10], [-10, -1]]) {
      const { naive, fast } = both(c, n, a as number, b as number, 300);
      expect(fast).toEqual(naive);
    }
  });

  it("is extended as points arrive, and starts over when the series is shorter", () => {
    const n = 120_000;
    const c = series(n, 11, { gaps: 0.001 });
    const pyramid = new MinMaxPyramid();
    for (const upTo of [1, 17, 5_000, 5_003, 65_536, 99_999, n]) {
      const opts = { sorted: true, pyramid, xFinite: true };
      const fast = reduceMinMax(c.x, c.y, upTo, 0, c.x[upTo - 1] as number, 100, opts);
      const naive = reduceMinMax(c.x, c.y, upTo, 0, c.x[upTo - 1] as number, 100, { sorted: true });
      expect(fast).toEqual(naive);
    }
    // A new series (e.g. a different EMA) in the same pyramid: shorter, so it is rebuilt.
    const d = series(40_000, 12);
    const opts = { sorted: true, pyramid, xFinite: true };
    const fast = reduceMinMax(d.x, d.y, 40_000, 0, d.x[39_999] as number, 100, opts);
    const naive = reduceMinMax(d.x, d.y, 40_000, 0, d.x[39_999] as number, 100, { sorted: true });
    expect(pyramid.n).toBe(40_000);
    expect(fast).toEqual(naive);
  });

  it("summarises each bucket with its first lowest and highest finite value", () => {
    const y = new Float64Array(64).fill(2);
    y[3] = 1;
    y[5] = 1;
    y[20] = NaN;
    y[40] = 7;
    const p = new MinMaxPyramid();
    p.update(y, 64);
    const [l0, l1] = p.levels;
    expect(Array.from(l0!.minI.subarray(0, l0!.count))).toEqual([3, 16, 32, 48]);
    expect(Array.from(l0!.dirty.subarray(0, l0!.count))).toEqual([0, 1, 0, 0]);
    expect(Array.from(l1!.maxI.subarray(0, l1!.count))).toEqual([0, 40]);
    expect(Array.from(l1!.dirty.subarray(0, l1!.count))).toEqual([1, 0]);
  });
});
