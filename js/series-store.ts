// The run's points as received, kept at model level so that every view (and every
// re-render, e.g. JupyterLab's windowing) can redraw it all. Arrays grow by doubling.

import type { PointsMessage } from "./model";

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

/** Steps of one series in a points message, decoded from its buffer or its first/stride. */
export function decodeSteps(
  h: PointsMessage["series"][number],
  buffers: DataView[],
): ArrayLike<number> {
  if (h.steps_buf !== undefined) {
    const dv = buffers[h.steps_buf];
    if (!dv) throw new Error(`nbtrack: missing steps buffer ${h.steps_buf}`);
    return h.steps === "i32" ? int32s(dv) : float64s(dv);
  }
  const out = new Float64Array(h.n);
  const first = h.first ?? 0;
  const stride = h.stride ?? 1;
  for (let i = 0; i < h.n; i++) out[i] = first + i * stride;
  return out;
}

export function decodeValues(
  h: PointsMessage["series"][number],
  buffers: DataView[],
): ArrayLike<number> {
  const dv = buffers[h.values_buf];
  if (!dv) throw new Error(`nbtrack: missing values buffer ${h.values_buf}`);
  return h.values === "f32" ? float32s(dv) : float64s(dv);
}

// Buffers may sit at any byte offset inside a larger ArrayBuffer; typed arrays need an
// aligned offset, so copy when it is not.
function aligned(dv: DataView, size: number): ArrayBuffer {
  if (dv.byteOffset % size === 0) return dv.buffer as ArrayBuffer;
  return dv.buffer.slice(dv.byteOffset, dv.byteOffset + dv.byteLength) as ArrayBuffer;
}

function offset(dv: DataView, size: number): number {
  return dv.byteOffset % size === 0 ? dv.byteOffset : 0;
}

function float64s(dv: DataView): Float64Array {
  return new Float64Array(aligned(dv, 8), offset(dv, 8), dv.byteLength / 8);
}

function float32s(dv: DataView): Float32Array {
  return new Float32Array(aligned(dv, 4), offset(dv, 4), dv.byteLength / 4);
}

function int32s(dv: DataView): Int32Array {
  return new Int32Array(aligned(dv, 4), offset(dv, 4), dv.byteLength / 4);
}

/** All series of one run; `t0` is the run's start (Unix seconds) for the wall-time axis. */
export class SeriesStore {
  readonly series = new Map<string, Series>();
  t0 = 0;
  /** Order in which keys first arrived (the charts' order). */
  readonly keys: string[] = [];

  ingest(msg: PointsMessage, buffers: DataView[]): string[] {
    this.t0 = msg.t0;
    const touched: string[] = [];
    for (const h of msg.series) {
      let s = this.series.get(h.key);
      if (!s) {
        s = new Series(h.key);
        this.series.set(h.key, s);
        this.keys.push(h.key);
      }
      s.append(decodeSteps(h, buffers), decodeValues(h, buffers));
      touched.push(h.key);
    }
    return touched;
  }

  metricKeys(): string[] {
    return this.keys.filter((k) => k !== TIME_KEY);
  }
}
