// The HTML export, the page's side: the file the dashboard's Export button writes from what
// the page holds (it works while the training cell runs: the kernel is not asked), and what
// a page reads back of such a file. The other side is nbtrack/export.py, whose docstring
// describes the format (version 1); this module writes the same file:
//
//   the meta Content-Security-Policy (a fresh nonce; blob: scripts; no request at all),
//   <div data-nbtrack-run data-embedded="nbtrack-data" data-bokeh="nbtrack-bokeh" ...>,
//   <script type="application/json" id="nbtrack-bokeh">{"messages": [the bokeh message]}
//   <script type="application/json" id="nbtrack-data">{"messages": [points, histograms,
//     header, overview, media]}     (the SSE contract of event-feed.ts; "<" as \u003c)
//   <script type="module" nonce=... data-nbtrack-bundle>widget.js</script>
//
// with the same reduction of long series (`reduceSeries`) and thinning of histograms
// (`thinHistograms`) as the Python writer. Where each part comes from: the data from the
// RunState; BokehJS from `RunState.bokehFiles` (the gzip buffers a kernel sent, or an
// export's own element), else the page's own BokehJS scripts fetched and gzipped here (a
// server page); the bundle from an export's own inline script, else the host's (the
// notebook's `_esm`: the source text, or a URL), else the page's module script fetched.

import { loadedBokeh } from "./bokeh-loader";
import type { FeedMessage } from "./event-feed";
import { mediaMessages, mediaOf } from "./media/store";
import { decodeBase64 } from "./event-feed";
import type { HistogramEntry, JsonNumber } from "./protocol";
import type { RunState } from "./run-state";
import type { SeriesStore } from "./series-store";
import { TIME_KEY } from "./series-store";

export const FORMAT_VERSION = 1;
/** A series of at most this many points goes whole. */
export const WHOLE_POINTS = 5000;
/** The buckets a longer series is reduced to. */
export const BUCKETS = 1024;
/** The most histogram steps kept of one key, and of all keys together. */
export const HIST_PER_KEY = 50;
export const HIST_TOTAL = 600;
/** ... but never fewer than this many of a key. */
export const HIST_MIN = 10;
export const DATA_ID = "nbtrack-data";
export const BOKEH_ID = "nbtrack-bokeh";
const BOKEH_FILES = ["bokeh.min.js", "bokeh-api.min.js"];
// The same text as nbtrack/export.py's _PAGE_STYLE (tests/test_export.py checks).
// prettier-ignore
const PAGE_STYLE = "body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1f2328;background:#fff}main{padding:1em 1.2em;max-width:1400px}.nbtrack-compare.nbtrack-dashboard a.nbt-run-name,.nbtrack-compare.nbtrack-dashboard a.nbt-run-name:hover{color:inherit;text-decoration:none;cursor:text}";

/** The file's Content-Security-Policy: its own script and blob: scripts, no request. */
export function csp(nonce: string): string {
  return (
    `default-src 'none'; script-src 'nonce-${nonce}' blob:; style-src 'unsafe-inline'; ` +
    "img-src data: blob:; connect-src 'none'; base-uri 'none'; form-action 'none'"
  );
}

// -- what goes in ---------------------------------------------------------------------------

export interface Points {
  steps: Float64Array;
  values: Float64Array;
}

/** Steps sorted, the last value of a repeated step kept (as nbtrack.api.sorted_last). */
function sortedLast(steps: ArrayLike<number>, values: ArrayLike<number>): Points {
  const n = steps.length;
  let ordered = true;
  for (let i = 1; i < n && ordered; i++) ordered = (steps[i] as number) > (steps[i - 1] as number);
  if (ordered) return { steps: Float64Array.from(steps), values: Float64Array.from(values) };
  const idx = Array.from({ length: n }, (_, i) => i).sort(
    (a, b) => (steps[a] as number) - (steps[b] as number) || a - b,
  );
  const s: number[] = [];
  const v: number[] = [];
  for (let j = 0; j < n; j++) {
    const i = idx[j] as number;
    const next = idx[j + 1];
    if (next !== undefined && steps[next] === steps[i]) continue; // the last of equal steps wins
    s.push(steps[i] as number);
    v.push(values[i] as number);
  }
  return { steps: Float64Array.from(s), values: Float64Array.from(v) };
}

/**
 * The points of one series the file keeps: all of them up to `whole`; else, in each of
 * `buckets` buckets of equal step span (nbtrack/_envelope.py), the lowest and the highest
 * finite point, the first non-finite one and the last, with the series' first point, in
 * step order.
 *
 * Example: `reduceSeries(steps, values).steps.length <= 4 * BUCKETS + 1` for any series.
 */
export function reduceSeries(
  steps: ArrayLike<number>,
  values: ArrayLike<number>,
  whole = WHOLE_POINTS,
  buckets = BUCKETS,
): Points {
  const p = sortedLast(steps, values);
  const n = p.steps.length;
  if (n <= whole) return p;
  const lo = p.steps[0] as number;
  const span = (p.steps[n - 1] as number) - lo + 1;
  const width = Math.max(1, Math.min(buckets, span));
  const keep = new Uint8Array(n);
  keep[0] = 1;
  let bucket = -1;
  let min = -1;
  let max = -1;
  let bad = -1;
  const close = (last: number): void => {
    if (min >= 0) keep[min] = 1;
    if (max >= 0) keep[max] = 1;
    if (bad >= 0) keep[bad] = 1;
    keep[last] = 1;
  };
  for (let i = 0; i < n; i++) {
    const b = Math.floor((((p.steps[i] as number) - lo) * width) / span);
    if (b !== bucket) {
      if (i > 0) close(i - 1);
      bucket = b;
      min = max = bad = -1;
    }
    const v = p.values[i] as number;
    if (!Number.isFinite(v)) {
      if (bad < 0) bad = i;
    } else {
      if (min < 0 || v < (p.values[min] as number)) min = i;
      if (max < 0 || v > (p.values[max] as number)) max = i;
    }
  }
  close(n - 1);
  let m = 0;
  for (let i = 0; i < n; i++) m += keep[i] as number;
  const out = { steps: new Float64Array(m), values: new Float64Array(m) };
  for (let i = 0, j = 0; i < n; i++) {
    if (!keep[i]) continue;
    out.steps[j] = p.steps[i] as number;
    out.values[j++] = p.values[i] as number;
  }
  return out;
}

/** The histogram entries the file keeps, in their order (as nbtrack/export.py's). */
export function thinHistograms(
  entries: readonly HistogramEntry[],
  perKey = HIST_PER_KEY,
  total = HIST_TOTAL,
  least = HIST_MIN,
): HistogramEntry[] {
  const byKey = new Map<string, number[]>();
  entries.forEach((e, i) => {
    let l = byKey.get(e.key);
    if (!l) byKey.set(e.key, (l = []));
    l.push(i);
  });
  if (!byKey.size) return [];
  const limit = Math.max(least, Math.min(perKey, Math.floor(total / byKey.size)));
  const keep = new Set<number>();
  for (const list of byKey.values()) {
    const idx = [...list].sort((a, b) => (entries[a] as HistogramEntry).step - (entries[b] as HistogramEntry).step || a - b);
    if (idx.length <= limit) {
      for (const i of idx) keep.add(i);
      continue;
    }
    // Evenly spaced over the key's steps, the first and the last among them (numpy's
    // linspace, rounded half to even as np.round does).
    for (let k = 0; k < limit; k++) {
      keep.add(idx[roundHalfEven((k * (idx.length - 1)) / (limit - 1))] as number);
    }
  }
  return entries.filter((_, i) => keep.has(i));
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function jsonNumber(x: number): JsonNumber {
  if (Number.isFinite(x)) return x;
  return Number.isNaN(x) ? "nan" : x > 0 ? "inf" : "-inf";
}

type Message = { content: Record<string, unknown> & { type: string }; buffers: Uint8Array[] };

function bytesOf(a: Float64Array | Float32Array | Int32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** A points entry's steps, as nbtrack/widget/_protocol.py's `_steps_field` encodes them. */
function stepsField(steps: Float64Array, buffers: Uint8Array[]): Record<string, unknown> {
  const n = steps.length;
  const first = steps[0] as number;
  const stride = n > 1 ? (steps[1] as number) - first : 1;
  let even = true;
  for (let i = 2; i < n && even; i++) even = steps[i] === first + stride * i;
  if (n < 3 || even) return { first, stride };
  let i32 = true;
  for (let i = 0; i < n && i32; i++) {
    const s = steps[i] as number;
    i32 = Number.isInteger(s) && s >= -2147483648 && s <= 2147483647;
  }
  buffers.push(bytesOf(i32 ? Int32Array.from(steps) : Float64Array.from(steps)));
  return { steps: i32 ? "i32" : "f64", steps_buf: buffers.length - 1 };
}

/** One `points` message of everything in `store`, long series reduced. */
export function pointsMessage(store: SeriesStore): Message | null {
  const buffers: Uint8Array[] = [];
  const series: Record<string, unknown>[] = [];
  for (const key of store.keys) {
    const s = store.series.get(key);
    if (!s || !s.length) continue;
    const p = reduceSeries(s.stepsView(), s.valuesView());
    const entry: Record<string, unknown> = { key, n: p.steps.length, ...stepsField(p.steps, buffers) };
    // The store keeps `_time` as float32 seconds since t0, as it came: written back as such.
    buffers.push(bytesOf(key === TIME_KEY ? Float32Array.from(p.values) : p.values));
    entry.values = key === TIME_KEY ? "f32" : "f64";
    entry.values_buf = buffers.length - 1;
    series.push(entry);
  }
  if (!series.length) return null;
  return { content: { type: "points", t0: jsonNumber(store.t0), series }, buffers };
}

export function histogramsMessage(entries: readonly HistogramEntry[]): Message | null {
  const kept = thinHistograms(entries);
  if (!kept.length) return null;
  return {
    content: {
      type: "histograms",
      entries: kept.map((e) => ({
        key: e.key,
        step: e.step,
        lo: jsonNumber(e.lo),
        hi: jsonNumber(e.hi),
        norm: e.norm === null ? null : jsonNumber(e.norm),
        nan: e.nan,
        inf: e.inf,
      })),
    },
    buffers: kept.map((e) => bytesOf(Float64Array.from(e.counts))),
  };
}

/** Every message of a run's file, as the Python writer orders them. */
export function runMessages(state: RunState): Message[] {
  const out: Message[] = [];
  const points = pointsMessage(state.store);
  if (points) out.push(points);
  const hists = histogramsMessage(state.histograms);
  if (hists) out.push(hists);
  if (state.headerMessage) out.push({ content: { ...state.headerMessage }, buffers: [] });
  if (state.overviewMessage) out.push({ content: { ...state.overviewMessage }, buffers: [] });
  // The media the page holds (already thinned by the sender) with the thumbnails it has;
  // no full file (the file says so where one is asked for).
  out.push(...mediaMessages(mediaOf(state)));
  return out;
}

// -- the file ---------------------------------------------------------------------------------

type ToBase64 = (this: Uint8Array) => string;
const nativeToBase64 = (Uint8Array.prototype as unknown as { toBase64?: ToBase64 }).toBase64;

/** `toBase64`: the native encoder, where the browser has it; null for the plain one. */
export function encodeBase64(bytes: Uint8Array, toBase64: ToBase64 | null = nativeToBase64 ?? null): string {
  if (toBase64) return toBase64.call(bytes);
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

/** JSON safe inside a <script> element: no "<" at all (so no "</script" or "<!--"). */
export function scriptJson(doc: unknown): string {
  return JSON.stringify(doc)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

function messagesJson(messages: Message[]): string {
  return scriptJson({
    messages: messages.map((m) => ({ content: m.content, buffers: m.buffers.map((b) => encodeBase64(b)) })),
  });
}

/** A module's text made safe to stand inside a <script> element (as export.py's). */
export function scriptText(source: string): string {
  return source.replace(/<\/(script)/gi, "<\\/$1").replace(/<!--/g, "\\x3C!--");
}

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#x27;");
}

function nonce(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

export interface BokehFiles {
  version: string;
  /** gzip of bokeh.min.js, then of bokeh-api.min.js. */
  gzip: Uint8Array[];
}

/** The whole file of a run's dashboard (the same as nbtrack/export.py `render`). */
export function renderRun(opts: {
  runId: string;
  title: string;
  messages: Message[];
  bokeh: BokehFiles;
  bundle: string;
  version?: string;
}): string {
  const e = escapeHtml;
  const n = nonce();
  const bokeh: Message = {
    content: { type: "bokeh", version: opts.bokeh.version, files: BOKEH_FILES },
    buffers: opts.bokeh.gzip,
  };
  const host =
    `<div data-nbtrack-run data-run-id="${e(opts.runId)}" data-embedded="${DATA_ID}" ` +
    `data-bokeh="${BOKEH_ID}" data-layout-key="${e(`nbtrack:export:${opts.runId}`)}"></div>`;
  return (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    `<meta http-equiv="Content-Security-Policy" content="${e(csp(n))}">` +
    '<meta name="referrer" content="no-referrer">' +
    `<meta name="nbtrack-export" content="${FORMAT_VERSION}">` +
    `<meta name="generator" content="nbtrack ${e(opts.version ?? "page")}">` +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    '<link rel="icon" href="data:,">' +
    `<title>${e(opts.title)} · nbtrack</title><style>${PAGE_STYLE}</style></head>` +
    `<body><main>${host}\n` +
    `<script type="application/json" id="${BOKEH_ID}">${messagesJson([bokeh])}</script>\n` +
    `<script type="application/json" id="${DATA_ID}">${messagesJson(opts.messages)}</script>\n` +
    `<script type="module" nonce="${n}" data-nbtrack-bundle>${scriptText(opts.bundle)}</script>\n` +
    "</main></body></html>\n"
  );
}

// -- where the parts come from ----------------------------------------------------------------

const BOKEH_SCRIPT = /\/(bokeh(-api)?)(\.min)?\.js(\?|#|$)/;
const BUNDLE_SCRIPT = /\/widget\.js(\?|#|$)/;

async function fetchText(url: string): Promise<string> {
  const resp = await fetch(url, { credentials: "same-origin" });
  if (!resp.ok) throw new Error(`${url}: ${resp.status} ${resp.statusText}`);
  return await resp.text();
}

async function gzip(text: string): Promise<Uint8Array> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** The view bundle's source: an export's own, else the host's (`hint`), else the page's. */
export async function bundleSource(hint?: unknown): Promise<string> {
  const own = document.querySelector<HTMLScriptElement>("script[data-nbtrack-bundle]");
  if (own?.textContent) return own.textContent;
  if (typeof hint === "string" && hint) {
    // anywidget's `_esm` is the module's text, or (hot reload, a CDN) a URL to it.
    const url = !hint.includes("\n") && /^(https?:|blob:|\/|\.\.?\/)/.test(hint.trim());
    return url ? await fetchText(hint.trim()) : hint;
  }
  const script = [...document.querySelectorAll<HTMLScriptElement>('script[type="module"][src]')].find((s) =>
    BUNDLE_SCRIPT.test(s.src),
  );
  if (script) return await fetchText(script.src);
  throw new Error("this page does not have the dashboard's script to put in the file");
}

/** BokehJS for the file: the gzip buffers the page has, else its own scripts, gzipped. */
export async function bokehSource(state: RunState): Promise<BokehFiles> {
  const version = String(loadedBokeh()?.version ?? "");
  if (state.bokehFiles && state.bokehFiles.length >= 2) {
    const gz = state.bokehFiles.map((dv) => new Uint8Array(dv.buffer as ArrayBuffer, dv.byteOffset, dv.byteLength));
    return { version, gzip: gz };
  }
  const urls = new Map<string, string>();
  for (const s of document.querySelectorAll<HTMLScriptElement>("script[src]")) {
    const m = BOKEH_SCRIPT.exec(s.src);
    if (m?.[1]) urls.set(m[1], s.src);
  }
  const core = urls.get("bokeh");
  const api = urls.get("bokeh-api");
  if (!core || !api) throw new Error("this page does not have BokehJS's files to put in the file");
  const texts = await Promise.all([fetchText(core), fetchText(api)]);
  return { version, gzip: await Promise.all(texts.map(gzip)) };
}

export interface ExportOptions {
  state: RunState;
  runId: string;
  /** The bundle's source as the host has it (the notebook widget's `_esm`). */
  bundle?: () => unknown;
}

/** The file of a run's dashboard, from what the page holds now. */
export async function runHtml(opts: ExportOptions): Promise<string> {
  const [bundle, bokeh] = await Promise.all([bundleSource(opts.bundle?.()), bokehSource(opts.state)]);
  // The data last, after the waits: what has come until the click is in.
  const h = opts.state.header;
  const title = h ? `${h.name} (${h.project}/${h.id})` : opts.runId;
  return renderRun({ runId: opts.runId, title, messages: runMessages(opts.state), bokeh, bundle });
}

/** A file name from a run's name: letters, digits, "-", "_" and "." only. */
export function fileName(name: string): string {
  const base = name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "") // the accents NFKD took apart: "ü" is "u"
    .replace(/[^\w.-]+/g, "-")
    .replace(/^[-.]+|[-.]+$/g, "")
    .slice(0, 100);
  return `${base || "nbtrack-run"}.html`;
}

export function download(text: string, name: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: "text/html" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  // Long enough for the browser to have read it.
  window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** The Export button of a run dashboard: the host mounts it with `dashboard.addAction`. */
export function exportButton(opts: ExportOptions): HTMLButtonElement {
  const b = document.createElement("button");
  b.className = "nbt-export";
  b.textContent = "Export";
  b.title = "download this dashboard as one HTML file that opens offline";
  b.addEventListener("click", () => {
    if (b.disabled) return;
    b.disabled = true;
    b.textContent = "Exporting…";
    runHtml(opts).then(
      (text) => {
        download(text, fileName(opts.state.header?.name ?? opts.runId));
        b.textContent = "Export";
        b.disabled = false;
        delete b.dataset.error;
      },
      (err: unknown) => {
        b.textContent = "Export failed";
        b.title = `Export failed: ${err instanceof Error ? err.message : String(err)}`;
        b.dataset.error = b.title;
        b.disabled = false;
      },
    );
  });
  return b;
}

// -- reading a file back ----------------------------------------------------------------------

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/** The messages of one JSON element of the file (its `id`), buffers decoded, every type kept. */
export function decodeEmbedded(text: string, what: string): FeedMessage[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`nbtrack: the file's ${what} is not JSON: ${String(err)}`);
  }
  if (!isObject(doc) || !Array.isArray(doc.messages)) throw new Error(`nbtrack: the file's ${what} has no messages`);
  return doc.messages.map((m: unknown, i: number) => {
    const bufs = isObject(m) ? (m.buffers ?? []) : null;
    if (!isObject(m) || !isObject(m.content) || typeof m.content.type !== "string") {
      throw new Error(`nbtrack: message ${i} of the file's ${what} has no content type`);
    }
    if (!Array.isArray(bufs) || !bufs.every((b) => typeof b === "string")) {
      throw new Error(`nbtrack: message ${i} of the file's ${what} has buffers that are not base64`);
    }
    return { content: m.content as { type: string }, buffers: bufs.map((b: string) => decodeBase64(b)) };
  });
}

/** What a file's view element names: its BokehJS (`data-bokeh`), then its data (`data-embedded`). */
export function readEmbedded(host: HTMLElement): FeedMessage[] {
  const out: FeedMessage[] = [];
  for (const [attr, what] of [
    ["bokeh", "BokehJS"],
    ["embedded", "data"],
  ] as const) {
    const id = host.dataset[attr];
    if (!id) continue;
    const el = document.getElementById(id);
    if (!el) throw new Error(`nbtrack: the file has no element #${id} (its ${what})`);
    out.push(...decodeEmbedded(el.textContent ?? "", what));
  }
  return out;
}
