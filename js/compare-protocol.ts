// The wire format of the compare view: the messages Python (a kernel, or the server) sends
// about a project's runs, typed, and their decoders. The other side is
// nbtrack/widget/_compare_protocol.py, which encodes them and documents each one.
//
// Config and summary values arrive as JSON; a float JSON cannot carry comes tagged as
// {"$float": "nan" | "inf" | "-inf"} (so a config string "nan" stays a string).

import type { CellValue, CompareRun, GitInfo } from "./compare/types";
import type { JsonNumber, MediaFileRequest, SeriesHeader } from "./protocol";
import { decodeSteps, parseNumber } from "./protocol";

export interface RunRowJson {
  id: string;
  name: string;
  project: string;
  entity: string | null;
  state: string;
  created_at: JsonNumber;
  runtime: JsonNumber;
  tags: string[];
  notes: string;
  git: GitInfo;
  config: Record<string, unknown>;
  summary: Record<string, unknown>;
  url: string | null;
  /** Absent from an older Python; null when the run has none. */
  group?: string | null;
  job_type?: string | null;
  sweep?: string | null;
}

export interface RunsMessage {
  type: "runs";
  runs: RunRowJson[];
  removed: string[];
}

interface CurveHead {
  run: string;
  key: string;
  append: boolean;
  n: number;
  first?: number;
  stride?: number;
  steps?: "i32" | "f64";
  steps_buf?: number;
}

export interface PointsCurveJson extends CurveHead {
  mode: "points";
  values_buf: number;
}

export interface EnvelopeCurveJson extends CurveHead {
  mode: "envelope";
  /** Points the envelope stands for. */
  count: number;
  lo: JsonNumber;
  hi: JsonNumber;
  /** uint16 triples (min, max, last) per bucket over [lo, hi]; 65535: no value. */
  q_buf: number;
}

export interface CurvesMessage {
  type: "curves";
  curves: (PointsCurveJson | EnvelopeCurveJson)[];
  /** The page's request this answers. */
  request?: number;
  /** [start, end] steps: the curves replace what the page has in that range only. */
  range?: [number, number];
}

/** One curve's points as they arrived: each bucket's step and its min, max and last. */
export interface DecodedCurve {
  run: string;
  key: string;
  append: boolean;
  envelope: boolean;
  /** The points the envelope stands for (its own length when whole). */
  count: number;
  steps: ArrayLike<number>;
  /** Whole: the values. Envelope: the buckets' last values. */
  last: ArrayLike<number>;
  /** Envelope only: the buckets' min and max (NaN: no finite value). */
  min: ArrayLike<number> | null;
  max: ArrayLike<number> | null;
}

export const NO_VALUE = 65535;
const Q_MAX = 65534;

export function decodeCell(v: unknown): CellValue {
  if (v === null || typeof v === "string" || typeof v === "boolean" || typeof v === "number") return v;
  if (Array.isArray(v)) return v.map(decodeCell);
  if (typeof v === "object") {
    const o = v as Record<string, unknown>;
    const f = o["$float"];
    if (typeof f === "string" && Object.keys(o).length === 1) return parseNumber(f as JsonNumber);
    return cells(o);
  }
  return String(v);
}

/** Each value decoded; keys are data (a config key "__proto__" is a key like any other). */
function cells(o: Record<string, unknown> | undefined): Record<string, CellValue> {
  const out: Record<string, CellValue> = {};
  for (const [k, v] of Object.entries(o ?? {})) {
    Object.defineProperty(out, k, { value: decodeCell(v), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function str(v: unknown): string | null {
  return typeof v === "string" ? v : null;
}

export function decodeRun(r: RunRowJson): CompareRun {
  const g = (r.git ?? {}) as Partial<GitInfo>;
  const url = str(g.url);
  return {
    id: String(r.id),
    name: String(r.name ?? r.id),
    project: String(r.project ?? ""),
    entity: str(r.entity),
    state: String(r.state ?? ""),
    created_at: parseNumber(r.created_at),
    runtime: parseNumber(r.runtime),
    tags: Array.isArray(r.tags) ? r.tags.map(String) : [],
    notes: typeof r.notes === "string" ? r.notes : "",
    git: {
      commit: str(g.commit),
      branch: str(g.branch),
      dirty: typeof g.dirty === "boolean" ? g.dirty : null,
      // Only a web link of our own making is ever an href (see _metadata.commit_url).
      url: url && /^https?:\/\//.test(url) ? url : null,
    },
    config: cells(r.config),
    summary: cells(r.summary),
    url: str(r.url),
    group: str(r.group) || null,
    job_type: str(r.job_type) || null,
    sweep: str(r.sweep) || null,
  };
}

function buf(buffers: DataView[], i: number): DataView {
  const dv = buffers[i];
  if (!dv) throw new Error(`nbtrack: missing curve buffer ${i}`);
  return dv;
}

function float64s(dv: DataView): Float64Array {
  const out = new Float64Array(dv.byteLength / 8);
  for (let i = 0; i < out.length; i++) out[i] = dv.getFloat64(i * 8, true);
  return out;
}

export function decodeCurves(msg: CurvesMessage, buffers: DataView[]): DecodedCurve[] {
  return msg.curves.map((c) => {
    const steps = decodeSteps(c as unknown as SeriesHeader, buffers);
    if (c.mode === "points") {
      const values = float64s(buf(buffers, c.values_buf));
      return {
        run: c.run, key: c.key, append: !!c.append, envelope: false, count: c.n,
        steps, last: values, min: null, max: null,
      }; // prettier-ignore
    }
    const lo = parseNumber(c.lo);
    const hi = parseNumber(c.hi);
    // In halves, as the encoder does: hi - lo may pass the largest float.
    const scale = hi > lo ? (hi / 2 - lo / 2) / Q_MAX : 0;
    const dv = buf(buffers, c.q_buf);
    const n = c.n;
    const min = new Float64Array(n);
    const max = new Float64Array(n);
    const last = new Float64Array(n);
    const cols = [min, max, last];
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < 3; j++) {
        const q = dv.getUint16((i * 3 + j) * 2, true);
        (cols[j] as Float64Array)[i] = q === NO_VALUE ? NaN : Math.min(hi, lo + 2 * (q * scale));
      }
    }
    return {
      run: c.run, key: c.key, append: !!c.append, envelope: true, count: c.count ?? n,
      steps, last, min, max,
    }; // prettier-ignore
  });
}

// -- what the page asks for -----------------------------------------------------------------

export interface RangeRequest {
  type: "range";
  id: number;
  runs: string[];
  keys: string[];
  start: number;
  end: number;
  width: number;
}

export interface OpenRequest {
  type: "open";
  run: string;
}

/** Page -> kernel: a request of the run opened under the table (a full media file, see
 *  `MediaFileRequest` in protocol.ts), which the kernel answers inside a `run` envelope. */
export interface RunRequest {
  type: "run";
  run: string;
  message: MediaFileRequest;
}
