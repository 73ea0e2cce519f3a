// Pure functions behind the histogram panels: re-binning a step's counts onto another value
// range, and the colour scale. No DOM here, so vitest checks them directly.

/**
 * Spread `counts` (equal bins over [lo, hi]) onto `rows` equal bins over [yLo, yHi],
 * each source bin's count shared in proportion to the overlap. Adds into `out`.
 *
 *     rebin([4], 0, 1, 0, 2, 2, out)  // out = [4, 0]
 */
export function rebin(
  counts: ArrayLike<number>,
  lo: number,
  hi: number,
  yLo: number,
  yHi: number,
  rows: number,
  out: Float64Array,
): void {
  const n = counts.length;
  if (!n || rows <= 0 || !(yHi > yLo)) return;
  const w = (hi - lo) / n;
  const scale = rows / (yHi - yLo);
  for (let j = 0; j < n; j++) {
    const c = counts[j] ?? 0;
    if (!c) continue;
    if (!(w > 0)) {
      // A degenerate range: everything sits at one value.
      const r = Math.min(rows - 1, Math.max(0, Math.floor((lo - yLo) * scale)));
      out[r] = (out[r] ?? 0) + c;
      continue;
    }
    const a = (lo + j * w - yLo) * scale; // source bin in target-row units
    const b = (lo + (j + 1) * w - yLo) * scale;
    const span = b - a;
    let r0 = Math.floor(a);
    const r1 = Math.min(rows - 1, Math.ceil(b) - 1);
    if (r0 < 0) r0 = 0;
    for (let r = r0; r <= r1; r++) {
      const overlap = Math.min(b, r + 1) - Math.max(a, r);
      if (overlap > 0) out[r] = (out[r] ?? 0) + (c * overlap) / span;
    }
  }
}

/** The common y range of several steps: min of their lo, max of their hi. */
export function commonRange(los: number[], his: number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of los) if (Number.isFinite(v) && v < lo) lo = v;
  for (const v of his) if (Number.isFinite(v) && v > hi) hi = v;
  if (!(hi >= lo)) return [0, 1];
  if (hi === lo) return [lo - 0.5, hi + 0.5];
  return [lo, hi];
}

/** Colour of a cell, `t` in [0, 1] (0: empty): white through blue to dark navy. */
export function heatColor(t: number): [number, number, number] {
  if (!(t > 0)) return [255, 255, 255];
  const u = Math.min(1, t);
  // Three stops: pale blue, strong blue, navy.
  const pale: [number, number, number] = [219, 234, 254];
  const blue: [number, number, number] = [37, 99, 235];
  const navy: [number, number, number] = [15, 23, 42];
  const x = u * 2;
  const [a, b, f] = x < 1 ? [pale, blue, x] : [blue, navy, x - 1];
  return [
    Math.round(a[0] + (b[0] - a[0]) * f),
    Math.round(a[1] + (b[1] - a[1]) * f),
    Math.round(a[2] + (b[2] - a[2]) * f),
  ];
}
