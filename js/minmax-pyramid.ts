// A min/max pyramid over one append-only series of values: level j holds, for every
// complete bucket of BASE * 2^j points, the index of its first lowest and first highest
// finite value and whether it holds a non-finite one. Reducing a wide range to two points a
// pixel column then reads O(log n) buckets per column instead of every point, and the result
// is exactly what a scan of every point gives (see `reduceMinMax`).
//
// Only indices are kept (values are read from the array handed to each call), so the
// series' buffer may be reallocated as it grows; what must not change is a value once it
// has been counted, which holds for the points of a series and for an EMA of them.

const BASE_SHIFT = 4; // level 0 buckets: 16 points (fewer levels, less memory)

export const PYRAMID_BASE = 1 << BASE_SHIFT;

interface Level {
  minI: Int32Array; // -1: the bucket holds no finite value
  maxI: Int32Array;
  dirty: Uint8Array; // 1: the bucket holds a NaN or an infinity
  count: number; // complete buckets
}

export class MinMaxPyramid {
  readonly levels: Level[] = [];
  /** Points counted so far: the values at indices < n are summarised. */
  n = 0;

  /**
   * Count `values[n .. length)`. A shorter `length` than before starts over (the series was
   * replaced). Example: `pyr.update(series.values, series.length)`.
   */
  update(values: ArrayLike<number>, length: number): void {
    if (length < this.n) {
      this.levels.length = 0;
      this.n = 0;
    }
    this.n = length;
    let want = length >> BASE_SHIFT;
    for (let j = 0; want > 0; j++, want >>= 1) {
      let lv = this.levels[j];
      if (!lv) {
        lv = { minI: new Int32Array(0), maxI: new Int32Array(0), dirty: new Uint8Array(0), count: 0 };
        this.levels.push(lv);
      }
      if (want <= lv.count) continue;
      if (want > lv.minI.length) grow(lv, want);
      if (j === 0) fillBase(lv, values, want);
      else fillFrom(lv, this.levels[j - 1] as Level, values, want);
    }
  }
}

function grow(lv: Level, want: number): void {
  const cap = Math.max(want, lv.minI.length * 2, 64);
  const minI = new Int32Array(cap);
  minI.set(lv.minI.subarray(0, lv.count));
  const maxI = new Int32Array(cap);
  maxI.set(lv.maxI.subarray(0, lv.count));
  const dirty = new Uint8Array(cap);
  dirty.set(lv.dirty.subarray(0, lv.count));
  lv.minI = minI;
  lv.maxI = maxI;
  lv.dirty = dirty;
}

function fillBase(lv: Level, values: ArrayLike<number>, want: number): void {
  for (let k = lv.count; k < want; k++) {
    let mi = -1;
    let ma = -1;
    let lo = Infinity;
    let hi = -Infinity;
    let dirty = 0;
    const end = (k + 1) << BASE_SHIFT;
    for (let i = k << BASE_SHIFT; i < end; i++) {
      const v = values[i] as number;
      if (!Number.isFinite(v)) {
        dirty = 1;
        continue;
      }
      // Strict comparisons keep the first of equal values, as a left-to-right scan does.
      if (mi < 0 || v < lo) {
        lo = v;
        mi = i;
      }
      if (ma < 0 || v > hi) {
        hi = v;
        ma = i;
      }
    }
    lv.minI[k] = mi;
    lv.maxI[k] = ma;
    lv.dirty[k] = dirty;
  }
  lv.count = want;
}

function fillFrom(lv: Level, below: Level, values: ArrayLike<number>, want: number): void {
  for (let k = lv.count; k < want; k++) {
    const a = 2 * k;
    const b = a + 1;
    let mi = below.minI[a] as number;
    let ma = below.maxI[a] as number;
    const mib = below.minI[b] as number;
    const mab = below.maxI[b] as number;
    if (mi < 0) {
      mi = mib;
      ma = mab;
    } else if (mib >= 0) {
      if ((values[mib] as number) < (values[mi] as number)) mi = mib;
      if ((values[mab] as number) > (values[ma] as number)) ma = mab;
    }
    lv.minI[k] = mi;
    lv.maxI[k] = ma;
    lv.dirty[k] = (below.dirty[a] as number) | (below.dirty[b] as number);
  }
  lv.count = want;
}
