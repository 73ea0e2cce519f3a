// The wire format of the dashboard: every message Python sends to the page, typed, and
// its decoder. The other side is nbtrack/widget/_protocol.py, which encodes them.
//
// NaN convention: JSON has no NaN or infinity, so every number that may be non-finite
// arrives as a `JsonNumber`: a finite number as it is, NaN as the string "nan", infinities
// as "inf" and "-inf"; `parseNumber` reads them back. `null` never stands for NaN: it means
// "no value" (no rate yet, no norm recorded). Buffers carry IEEE floats, so NaN and
// infinities arrive in them as they are.
//
// The decoders turn a message (content and buffers) into plain numbers and typed arrays,
// so nothing past this module sees a JsonNumber or a buffer index.

/** A number JSON may carry non-finite: "nan", "inf" or "-inf" when it is. */
export type JsonNumber = number | "nan" | "inf" | "-inf";

export function parseNumber(x: JsonNumber | string): number {
  if (typeof x === "number") return x;
  if (x === "inf") return Infinity;
  if (x === "-inf") return -Infinity;
  return NaN;
}

// -- points --------------------------------------------------------------------------------

/** One key's new points in a points message: where its steps and values are. */
export interface SeriesHeader {
  key: string;
  n: number;
  /** Evenly spaced steps: first + i * stride, and no steps buffer. */
  first?: number;
  stride?: number;
  /** Otherwise a buffer of int32 (when they fit) or float64 steps. */
  steps?: "i32" | "f64";
  steps_buf?: number;
  /** float32 seconds since t0 for the `_time` key, float64 for every other. */
  values: "f32" | "f64";
  values_buf: number;
}

export interface PointsMessage {
  type: "points";
  /** The run's start, Unix seconds. */
  t0: JsonNumber;
  series: SeriesHeader[];
}

export interface SeriesPoints {
  key: string;
  steps: ArrayLike<number>;
  values: ArrayLike<number>;
}

export interface Points {
  t0: number;
  series: SeriesPoints[];
}

export function decodePoints(msg: PointsMessage, buffers: DataView[]): Points {
  return {
    t0: parseNumber(msg.t0),
    series: msg.series.map((h) => ({
      key: h.key,
      steps: decodeSteps(h, buffers),
      values: decodeValues(h, buffers),
    })),
  };
}

/** Steps of one series in a points message, decoded from its buffer or its first/stride. */
export function decodeSteps(h: SeriesHeader, buffers: DataView[]): ArrayLike<number> {
  if (h.steps_buf !== undefined) {
    const dv = buffer(buffers, h.steps_buf, "steps");
    return h.steps === "i32" ? int32s(dv) : float64s(dv);
  }
  const out = new Float64Array(h.n);
  const first = h.first ?? 0;
  const stride = h.stride ?? 1;
  for (let i = 0; i < h.n; i++) out[i] = first + i * stride;
  return out;
}

export function decodeValues(h: SeriesHeader, buffers: DataView[]): ArrayLike<number> {
  const dv = buffer(buffers, h.values_buf, "values");
  return h.values === "f32" ? float32s(dv) : float64s(dv);
}

// -- histograms ----------------------------------------------------------------------------

/** One histogram entry's JSON; its counts are buffer i for entry i. */
export interface HistogramEntryHeader {
  key: string;
  step: number;
  lo: JsonNumber;
  hi: JsonNumber;
  /** L2 norm of the finite values; null when not recorded. */
  norm: JsonNumber | null;
  nan: number;
  inf: number;
}

export interface HistogramMessage {
  type: "histograms";
  entries: HistogramEntryHeader[];
}

/** One histogram of one key at one step: `counts` over equal bins spanning [lo, hi]. */
export interface HistogramEntry {
  key: string;
  step: number;
  lo: number;
  hi: number;
  norm: number | null;
  nan: number;
  inf: number;
  counts: Float64Array;
}

export function decodeHistograms(msg: HistogramMessage, buffers: DataView[]): HistogramEntry[] {
  return msg.entries.map((e, i) => ({
    key: e.key,
    step: e.step,
    lo: parseNumber(e.lo),
    hi: parseNumber(e.hi),
    norm: e.norm === null || e.norm === undefined ? null : parseNumber(e.norm),
    nan: e.nan ?? 0,
    inf: e.inf ?? 0,
    // A copy: the entries are kept, and the comm's buffer may be reused or unaligned.
    counts: float64s(buffer(buffers, i, "counts")).slice(),
  }));
}

// -- header --------------------------------------------------------------------------------

export interface Alert {
  title: string;
  text: string;
  level: "INFO" | "WARN" | "ERROR" | string;
  step: number | null;
}

export type SyncState = "local" | "syncing" | "synced" | "behind" | "unreachable" | "refused";

/** Where the run stands with the team server. */
export interface SyncStatus {
  state: SyncState | string;
  /** Points logged that the server does not have yet. */
  behind: number;
  /** Why the upload was refused (or the server is unreachable); null when there is none. */
  reason: string | null;
  /** The run's page on the server; null until the server has the run. */
  url: string | null;
}

export interface HeaderMessage {
  type: "header";
  id: string;
  name: string;
  project: string;
  state: string;
  step: number;
  created_at: JsonNumber;
  elapsed: JsonNumber;
  rate: JsonNumber | null;
  last: Record<string, JsonNumber>;
  alerts: Alert[];
  error: string | null;
  /** Absent from a Python without a team server client; null for a run without a server. */
  sync?: SyncStatus | null;
  /**
   * The run's metric definitions (`define_metric`), in define order; absent from an older
   * Python. `name` is a key or a W&B glob ("val/*": a trailing `*`), `step_metric` the key
   * its chart is drawn against (null: the step). See metric-defs.ts.
   */
  metrics?: MetricDefinition[];
}

/** One `define_metric` definition, as far as the charts need it. */
export interface MetricDefinition {
  name: string;
  step_metric: string | null;
  hidden: boolean;
}

/** The header's facts, numbers parsed. */
export interface RunHeader {
  id: string;
  name: string;
  project: string;
  state: string;
  step: number;
  created_at: number;
  elapsed: number;
  /** Steps per second; null when there is none (finished, or the first update). */
  rate: number | null;
  last: Record<string, number>;
  alerts: Alert[];
  error: string | null;
  sync: SyncStatus | null;
  /** The metric definitions, every field checked; [] when the run has none. */
  metrics: MetricDefinition[];
}

export function decodeHeader(msg: HeaderMessage): RunHeader {
  const last: Record<string, number> = {};
  for (const [k, v] of Object.entries(msg.last)) last[k] = parseNumber(v);
  return {
    id: msg.id,
    name: msg.name,
    project: msg.project,
    state: msg.state,
    step: msg.step,
    created_at: parseNumber(msg.created_at),
    elapsed: parseNumber(msg.elapsed),
    rate: msg.rate === null ? null : parseNumber(msg.rate),
    last,
    alerts: msg.alerts,
    error: msg.error,
    sync: decodeSync(msg.sync),
    metrics: decodeMetrics(msg.metrics),
  };
}

function decodeMetrics(defs: unknown): MetricDefinition[] {
  const out: MetricDefinition[] = [];
  for (const d of Array.isArray(defs) ? defs : []) {
    const o = record(d);
    if (typeof o.name !== "string" || !o.name) continue;
    out.push({
      name: o.name,
      step_metric: typeof o.step_metric === "string" && o.step_metric ? o.step_metric : null,
      hidden: o.hidden === true,
    });
  }
  return out;
}

function decodeSync(s: SyncStatus | null | undefined): SyncStatus | null {
  if (!s || typeof s.state !== "string") return null;
  return {
    state: s.state,
    behind: typeof s.behind === "number" && Number.isFinite(s.behind) ? s.behind : 0,
    reason: typeof s.reason === "string" ? s.reason : null,
    url: typeof s.url === "string" ? s.url : null,
  };
}

// -- overview ------------------------------------------------------------------------------

/** A config value as Python sends it: floats as JsonNumbers, lists and the odd rest as text. */
export type ConfigValue = string | number | boolean | null;

/** The code a run ran: git's facts (null outside a repository) and the notebook or script. */
export interface RunCode {
  commit: string | null;
  branch: string | null;
  dirty: boolean | null;
  /** The commit's page on GitHub, GitLab or Bitbucket; made by Python from the remote. */
  url: string | null;
  program: string | null;
  /** Ran in Colab; `colab_url` is its notebook when the kernel could tell. */
  colab: boolean;
  colab_url: string | null;
}

/** Where a run ran. */
export interface RunSystem {
  host: string | null;
  os: string | null;
  python: string | null;
  torch: string | null;
  nbtrack: string | null;
  gpus: string[];
}

export interface OverviewMessage {
  type: "overview";
  notes: string | null;
  tags: string[];
  /** The config flattened ("opt.lr"), as [key, value] pairs in the user's order. */
  config: [string, ConfigValue][];
  code: RunCode;
  system: RunSystem;
  created_at: JsonNumber;
  finished_at: JsonNumber | null;
}

/** What the Overview section shows: every field checked, config values as text. */
export interface RunOverview {
  notes: string | null;
  tags: string[];
  config: [string, string][];
  code: RunCode;
  system: RunSystem;
  created_at: number;
  /** Null while the run runs (or when it ended without saying so: crashed). */
  finished_at: number | null;
}

/**
 * A config value as the table shows it: JSON's spelling for true, false and null, numbers
 * as JS writes them, NaN and infinities as Python sent them ("nan", "inf", "-inf").
 */
export function configText(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return JSON.stringify(v) ?? String(v);
}

function text(v: unknown): string | null {
  return typeof v === "string" && v !== "" ? v : null;
}

function texts(v: unknown): string[] {
  return Array.isArray(v) ? v.map((x) => (typeof x === "string" ? x : String(x))) : [];
}

function record(v: unknown): Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function seconds(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  const t = parseNumber(v as JsonNumber);
  return Number.isFinite(t) ? t : null;
}

/** The overview, every field checked: the server passes on what any client uploaded. */
export function decodeOverview(msg: OverviewMessage): RunOverview {
  const code = record(msg.code);
  const system = record(msg.system);
  const config: [string, string][] = [];
  for (const pair of Array.isArray(msg.config) ? msg.config : []) {
    if (Array.isArray(pair) && pair.length === 2) config.push([String(pair[0]), configText(pair[1])]);
  }
  return {
    notes: text(msg.notes),
    tags: texts(msg.tags),
    config,
    code: {
      commit: text(code.commit),
      branch: text(code.branch),
      dirty: typeof code.dirty === "boolean" ? code.dirty : null,
      url: text(code.url),
      program: text(code.program),
      colab: code.colab === true,
      colab_url: text(code.colab_url),
    },
    system: {
      host: text(system.host),
      os: text(system.os),
      python: text(system.python),
      torch: text(system.torch),
      nbtrack: text(system.nbtrack),
      gpus: texts(system.gpus),
    },
    created_at: seconds(msg.created_at) ?? NaN,
    finished_at: seconds(msg.finished_at),
  };
}

// -- bokeh ---------------------------------------------------------------------------------

/** BokehJS itself: one gzip buffer per file, in `files` order (see bokeh-loader.ts). */
export interface BokehMessage {
  type: "bokeh";
  version: string;
  files: string[];
}

// -- share-grant ---------------------------------------------------------------------------

export type ShareGrantReason = "not-logged-in" | "not-synced" | "unavailable";

/**
 * What the Share panel calls the team server with: a short-lived grant (`nbg_...`) that only
 * makes, lists and revokes this run's (or project's) links; or, with no token, why there is
 * none. Kept in the page's memory only (RunState / ProjectState), never in the model.
 */
export interface ShareGrantMessage {
  type: "share-grant";
  server: string | null;
  token: string | null;
  /** Unix seconds. */
  expires_at: number | null;
  scope: "run" | "project" | null;
  entity: string | null;
  project: string | null;
  run_id: string | null;
  reason: ShareGrantReason | null;
  message: string | null;
}

/** The page asks the kernel for the grant (after a reload): answered when it is idle. */
export interface ShareGrantRequest {
  type: "share-grant";
}

export interface ShareGrant {
  server: string;
  token: string;
  /** Unix seconds; null when the server said no end. */
  expiresAt: number | null;
  scope: "run" | "project";
  entity: string;
  project: string;
  runId: string | null;
}

export type GrantState =
  | { kind: "grant"; grant: ShareGrant }
  | { kind: "none"; reason: ShareGrantReason | string; message: string | null; server: string | null };

function str(x: unknown): string | null {
  return typeof x === "string" && x ? x : null;
}

export function decodeShareGrant(msg: Partial<ShareGrantMessage>): GrantState {
  const server = str(msg.server);
  const token = str(msg.token);
  const entity = str(msg.entity);
  const project = str(msg.project);
  if (server && token && entity && project) {
    const runId = str(msg.run_id);
    const expires = typeof msg.expires_at === "number" && Number.isFinite(msg.expires_at) ? msg.expires_at : null;
    return {
      kind: "grant",
      grant: { server: server.replace(/\/+$/, ""), token, expiresAt: expires, scope: runId ? "run" : "project", entity, project, runId },
    };
  }
  return { kind: "none", reason: str(msg.reason) ?? "unavailable", message: str(msg.message), server };
}

export type Message =
  | PointsMessage
  | HistogramMessage
  | HeaderMessage
  | OverviewMessage
  | BokehMessage
  | ShareGrantMessage;

// -- buffers -------------------------------------------------------------------------------

function buffer(buffers: DataView[], i: number, what: string): DataView {
  const dv = buffers[i];
  if (!dv) throw new Error(`nbtrack: missing ${what} buffer ${i}`);
  return dv;
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
