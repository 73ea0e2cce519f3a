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

// -- media ---------------------------------------------------------------------------------
//
// Images, tables, plots, video, audio and html (media-contract: "Dashboard wire", "Stored
// payload"). A payload is the store's JSON as it is, except that a non-finite number in it
// is the object {"_type": "float", "value": "nan" | "inf" | "-inf"}: `decodeFloats` reads
// those back as numbers. Each `files[i]` of a media message is buffers[i]: the bytes of a
// thumbnail (or of a small html file) the page keeps by name. Every field is checked: the
// server passes on what any client uploaded.

/** One media entry as Python sends it. */
export interface MediaEntryHeader {
  key: string;
  step: number;
  kind: string;
  /** The entry's ordinal among its key's entries: 0, 1, 2, ... */
  index: number;
  /** false: the newest entry of its key, off the thinning stride; shown until the next. */
  keep: boolean;
  payload: unknown;
}

export interface MediaMessage {
  type: "media";
  entries: MediaEntryHeader[];
  /** buffers[i] holds the bytes of files[i]. */
  files: string[];
}

/** The page keeps only the key's entries whose index is a multiple of `stride`. */
export interface MediaThinMessage {
  type: "media-thin";
  key: string;
  stride: number;
}

/** Page -> kernel: the bytes of a full file. */
export interface MediaFileRequest {
  type: "media-file";
  id: number;
  name: string;
}

/** The request for a full file, by the id its answer will carry. */
export function mediaFileRequest(id: number, name: string): MediaFileRequest {
  return { type: "media-file", id, name };
}

/**
 * A `media` message again, as the page's Export writes what it holds: `entries` as they came
 * (their raw payloads) and each named file's bytes once, in `files` order.
 */
export function encodeMedia(
  entries: MediaEntryHeader[],
  files: { name: string; bytes: Uint8Array }[],
): { content: MediaMessage; buffers: Uint8Array[] } {
  return {
    content: { type: "media", entries, files: files.map((f) => f.name) },
    buffers: files.map((f) => f.bytes),
  };
}

/** Kernel -> page: the answer to a MediaFileRequest; one buffer, none on error. */
export interface MediaFileMessage {
  type: "media-file";
  id: number;
  name: string;
  mime: string;
  error: string | null;
}

/** A MediaFiles name: sha256 hex and an extension (nbtrack/store/media_files.py). */
export const MEDIA_NAME = /^[0-9a-f]{64}\.(png|jpg|gif|mp4|webm|ogg|wav|mp3|flac|html)$/;

const MIME: Record<string, string> = {
  png: "image/png", jpg: "image/jpeg", gif: "image/gif", mp4: "video/mp4", webm: "video/webm",
  ogg: "audio/ogg", wav: "audio/wav", mp3: "audio/mpeg", flac: "audio/flac", html: "text/html",
}; // prettier-ignore

/** The MIME type of a media file by its name's extension ("" for an unknown one). */
export function mediaMime(name: string): string {
  const ext = name.slice(name.lastIndexOf(".") + 1);
  return MIME[ext] ?? "";
}

export interface MaskInfo {
  name: string;
  /** Full size PNG of class ids; `thumb` the same at the thumbnail's size. */
  file: string;
  thumb: string;
  labels: Record<string, string>;
}

export interface Box {
  /** Fractions of the width and height, top-left origin. */
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  class_id: number;
  caption: string | null;
  scores: Record<string, number>;
}

export interface BoxSet {
  name: string;
  labels: Record<string, string>;
  boxes: Box[];
}

export interface ImageItem {
  file: string;
  thumb: string;
  w: number;
  h: number;
  tw: number;
  th: number;
  caption: string | null;
  masks: MaskInfo[];
  boxes: BoxSet[];
}

export type CellType = "number" | "string" | "bool" | "image" | "mixed";
/** A table cell, decoded: non-finite floats are numbers again, image cells ImageItems. */
export type Cell = number | string | boolean | null | ImageCell;
export interface ImageCell extends ImageItem {
  _type: "image";
}

export interface TablePayload {
  columns: string[];
  types: CellType[];
  rows: number;
  data: Cell[][];
}

export type PlotKind =
  | "line" | "scatter" | "bar" | "histogram" | "line_series" | "confusion_matrix" | "pr_curve" | "roc_curve"; // prettier-ignore

export interface PlotPayload {
  plot: PlotKind | string;
  title: string | null;
  /** Role -> column name: x, y, series; label, value; value; actual, predicted, count. */
  fields: Record<string, string | null>;
  table: TablePayload;
  /** confusion_matrix: the class names, in order. */
  classes: string[];
}

export interface VideoItem {
  file: string;
  format: string;
  w: number;
  h: number;
  fps: number | null;
  frames: number | null;
  thumb: string | null;
  tw: number;
  th: number;
  caption: string | null;
}

export interface AudioItem {
  file: string;
  format: string;
  sample_rate: number | null;
  duration: number | null;
  caption: string | null;
}

export interface HtmlItem {
  file: string;
  bytes: number;
  caption: string | null;
}

export type MediaPayload =
  | { kind: "image"; items: ImageItem[] }
  | { kind: "table"; table: TablePayload }
  | { kind: "plot"; plot: PlotPayload }
  | { kind: "video"; items: VideoItem[] }
  | { kind: "audio"; items: AudioItem[] }
  | { kind: "html"; items: HtmlItem[] }
  | { kind: "unknown" };

export interface MediaEntry {
  key: string;
  step: number;
  kind: string;
  index: number;
  keep: boolean;
  payload: MediaPayload;
  /** The payload as it came (JSON): what an export writes again. */
  raw: unknown;
}

export interface MediaFileBytes {
  name: string;
  bytes: Uint8Array;
}

export interface MediaBatch {
  entries: MediaEntry[];
  files: MediaFileBytes[];
}

export interface MediaFileReply {
  id: number;
  name: string;
  mime: string;
  error: string | null;
  bytes: Uint8Array | null;
}

/**
 * A payload with every `{"_type": "float", "value": ...}` object read back as its number.
 *
 * Example: `decodeFloats({ a: [1, { _type: "float", value: "nan" }] })` is `{ a: [1, NaN] }`.
 */
export function decodeFloats(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(decodeFloats);
  if (typeof x !== "object" || x === null) return x;
  const o = x as Record<string, unknown>;
  if (o._type === "float" && typeof o.value === "string") return parseNumber(o.value);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) out[k] = decodeFloats(v);
  return out;
}

function num(x: unknown, fallback = 0): number {
  return typeof x === "number" && Number.isFinite(x) ? x : fallback;
}

function numOrNull(x: unknown): number | null {
  return typeof x === "number" && Number.isFinite(x) ? x : null;
}

function name(x: unknown): string {
  return typeof x === "string" && MEDIA_NAME.test(x) ? x : "";
}

function caption(x: unknown): string | null {
  return typeof x === "string" ? x : null;
}

function labels(x: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(record(x))) out[k] = typeof v === "string" ? v : String(v);
  return out;
}

function list(x: unknown): unknown[] {
  return Array.isArray(x) ? x : [];
}

function decodeImageItem(x: unknown): ImageItem | null {
  const o = record(x);
  const file = name(o.file);
  const thumb = name(o.thumb) || file;
  if (!thumb) return null;
  const w = num(o.w, 1);
  const h = num(o.h, 1);
  return {
    file: file || thumb,
    thumb,
    w,
    h,
    tw: num(o.tw, w),
    th: num(o.th, h),
    caption: caption(o.caption),
    masks: list(o.masks).flatMap((m) => {
      const mo = record(m);
      const thumb = name(mo.thumb) || name(mo.file);
      if (!thumb) return [];
      return [{ name: String(mo.name ?? ""), file: name(mo.file) || thumb, thumb, labels: labels(mo.labels) }];
    }),
    boxes: list(o.boxes).map((s) => {
      const so = record(s);
      return {
        name: String(so.name ?? ""),
        labels: labels(so.labels),
        boxes: list(so.boxes).map((b) => {
          const bo = record(b);
          const scores: Record<string, number> = {};
          for (const [k, v] of Object.entries(record(bo.scores))) if (typeof v === "number") scores[k] = v;
          return {
            x0: num(bo.x0), y0: num(bo.y0), x1: num(bo.x1), y1: num(bo.y1),
            class_id: num(bo.class_id), caption: caption(bo.caption), scores,
          }; // prettier-ignore
        }),
      };
    }),
  };
}

const CELL_TYPES = new Set(["number", "string", "bool", "image", "mixed"]);

function decodeCell(x: unknown): Cell {
  if (x === null || typeof x === "number" || typeof x === "string" || typeof x === "boolean") return x;
  const o = record(x);
  if (o._type === "image") {
    const img = decodeImageItem(o);
    return img ? { _type: "image", ...img } : null;
  }
  return x === undefined ? null : JSON.stringify(x) ?? null;
}

function decodeTable(x: unknown): TablePayload {
  const o = record(x);
  const columns = list(o.columns).map((c) => String(c));
  const types = columns.map((_, i) => {
    const t = list(o.types)[i];
    return (typeof t === "string" && CELL_TYPES.has(t) ? t : "mixed") as CellType;
  });
  const data = list(o.data).map((row) => {
    const r = list(row);
    return columns.map((_, i) => decodeCell(r[i]));
  });
  return { columns, types, rows: Math.max(num(o.rows, data.length), data.length), data };
}

function decodePlot(o: Record<string, unknown>): PlotPayload {
  const fields: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(record(o.fields))) fields[k] = typeof v === "string" ? v : null;
  return {
    plot: typeof o.plot === "string" ? o.plot : "",
    title: caption(o.title),
    fields,
    table: decodeTable(o.table),
    classes: list(o.classes).map((c) => String(c)),
  };
}

/** A stored payload of `kind`, floats decoded and every field checked. */
export function decodeMediaPayload(kind: string, raw: unknown): MediaPayload {
  const o = record(decodeFloats(raw));
  switch (kind) {
    case "image":
      return { kind, items: list(o.items).flatMap((i) => decodeImageItem(i) ?? []) };
    case "table":
      return { kind, table: decodeTable(o) };
    case "plot":
      return { kind, plot: decodePlot(o) };
    case "video":
      return {
        kind,
        items: list(o.items).flatMap((i) => {
          const v = record(i);
          const file = name(v.file);
          if (!file) return [];
          return [{
            file, format: String(v.format ?? file.slice(file.lastIndexOf(".") + 1)),
            w: num(v.w), h: num(v.h), fps: numOrNull(v.fps), frames: numOrNull(v.frames),
            thumb: name(v.thumb) || null, tw: num(v.tw, num(v.w)), th: num(v.th, num(v.h)),
            caption: caption(v.caption),
          }]; // prettier-ignore
        }),
      };
    case "audio":
      return {
        kind,
        items: list(o.items).flatMap((i) => {
          const a = record(i);
          const file = name(a.file);
          if (!file) return [];
          return [{
            file, format: String(a.format ?? file.slice(file.lastIndexOf(".") + 1)),
            sample_rate: numOrNull(a.sample_rate), duration: numOrNull(a.duration), caption: caption(a.caption),
          }]; // prettier-ignore
        }),
      };
    case "html":
      return {
        kind,
        items: list(o.items).flatMap((i) => {
          const h = record(i);
          const file = name(h.file);
          return file ? [{ file, bytes: num(h.bytes), caption: caption(h.caption) }] : [];
        }),
      };
    default:
      return { kind: "unknown" };
  }
}

function bytesOf(dv: DataView): Uint8Array {
  // A copy: the bytes are kept, and the comm's buffer may be reused.
  return new Uint8Array(dv.buffer as ArrayBuffer, dv.byteOffset, dv.byteLength).slice();
}

/** A media message's entries and file bytes; an entry without a key or step is left out. */
export function decodeMedia(msg: Partial<MediaMessage>, buffers: DataView[]): MediaBatch {
  const entries: MediaEntry[] = [];
  for (const e of list(msg.entries)) {
    const o = record(e);
    if (typeof o.key !== "string" || typeof o.kind !== "string") continue;
    const step = numOrNull(o.step);
    const index = numOrNull(o.index);
    if (step === null || index === null) continue;
    entries.push({
      key: o.key,
      step,
      kind: o.kind,
      index,
      keep: o.keep !== false,
      payload: decodeMediaPayload(o.kind, o.payload),
      raw: o.payload,
    });
  }
  const files: MediaFileBytes[] = [];
  list(msg.files).forEach((n, i) => {
    const dv = buffers[i];
    if (typeof n === "string" && MEDIA_NAME.test(n) && dv) files.push({ name: n, bytes: bytesOf(dv) });
  });
  return { entries, files };
}

export function decodeMediaThin(msg: Partial<MediaThinMessage>): { key: string; stride: number } | null {
  if (typeof msg.key !== "string") return null;
  const stride = num(msg.stride, 1);
  return Number.isInteger(stride) && stride >= 1 ? { key: msg.key, stride } : null;
}

export function decodeMediaFile(msg: Partial<MediaFileMessage>, buffers: DataView[]): MediaFileReply | null {
  if (typeof msg.id !== "number" || typeof msg.name !== "string") return null;
  const dv = buffers[0];
  const error = typeof msg.error === "string" && msg.error ? msg.error : dv ? null : "no bytes came";
  return {
    id: msg.id,
    name: msg.name,
    mime: typeof msg.mime === "string" && msg.mime ? msg.mime : mediaMime(msg.name),
    error,
    bytes: error || !dv ? null : bytesOf(dv),
  };
}

export type Message =
  | PointsMessage
  | HistogramMessage
  | HeaderMessage
  | OverviewMessage
  | BokehMessage
  | ShareGrantMessage
  | MediaMessage
  | MediaThinMessage
  | MediaFileMessage;

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
