// The compare view's parallel-coordinates plot: one vertical axis a hyperparameter or metric,
// one polyline a run, drawn on a canvas (200 runs x 8 axes is a few hundred strokes; SVG or
// BokehJS glyphs would cost a DOM node or a glyph view a segment). The axes themselves are
// small absolutely positioned divs over the canvas, so that labels, ticks, the flip button
// and the brush are real elements: text is selectable, and tests find them by `data-axis`.
//
// The numeric core (scales, brushes, hit-testing, colours) is DOM-free and exported for the
// tests; the class below only wires it to pointer events and a canvas.
//
// Brushes are stored in value space, not in screen position: a numeric brush keeps the
// [lo, hi] of the axis' values it covers (linear and log alike), a categorical one the
// category keys it covers, and both a flag for the "missing" mark. A new run that widens an
// axis then moves the brush on screen but not what it selects, and a brush saved in the view
// state means the same thing when the notebook is opened again with more runs.

import { formatValue } from "../format";
import type { CellValue } from "./types";

export type AxisKind = "linear" | "log" | "categorical";

export interface AxisSpec {
  id: string;
  label: string;
  /** Chosen from the values when absent (see `inferKind`). */
  kind?: AxisKind;
  /** The direction when the axis first appears; the state's `flipped` decides after that. */
  flipped?: boolean;
}

export interface PcLine {
  id: string;
  color: string;
  /** Axis id -> value; undefined (or absent) = missing. */
  values: Map<string, CellValue | undefined>;
}

/**
 * A brush, as JSON can hold it. `range` is [lo, hi] in the axis' values (lo <= hi, both
 * finite), null when the brush covers only the missing mark; `values` are category keys (see
 * `categoryKey`). `missing`: the brush covers the missing mark too.
 */
export type Brush =
  | { kind: "range"; range: [number, number] | null; missing: boolean }
  | { kind: "categories"; values: string[]; missing: boolean };
export type SerialisableBrush = Brush;

export interface PcState {
  /** Axis ids, left to right; ids of axes not in the data keep their place for later. */
  order: string[];
  flipped: string[];
  brushes: Record<string, SerialisableBrush>;
  colorBy: "metric" | "run";
}

export interface PcOptions {
  /** The ids inside every brush, null when no brush; called at most once a frame, when it
   *  changes, whatever changed it (a drag, a click, setState, setData with new lines). */
  onBrush(active: Set<string> | null): void;
  onHover(id: string | null): void;
  /** After a change a person made (reorder, flip, brush, colouring); not after setState. */
  onStateChange(s: PcState): void;
}

/** The position of a missing value: not in [0, 1], drawn at the mark below the axis. */
export const MISSING_POS = -1;
/** An axis whose positive values span more than this ratio (2 decades) is drawn log. */
export const LOG_RATIO = 100;
/** How near (px) the pointer must come to a line to hover it. */
export const HOVER_PX = 6;
/** How far (px) either side of the missing mark a brush reaches it. */
export const MISSING_HIT = 7;

export interface Tick {
  /** In [0, 1] (0 = the axis' low end), or MISSING_POS. */
  pos: number;
  label: string;
}

export interface Scale {
  readonly kind: AxisKind;
  /** Numeric: the values' range (padded when they are all equal); categorical: [0, n - 1]. */
  readonly domain: readonly [number, number];
  /** Categorical: the category keys, in axis order (bottom first); else empty. */
  readonly categories: readonly string[];
  /** Some of the values the scale was made from are missing. */
  readonly hasMissing: boolean;
  isMissing(v: CellValue | undefined): boolean;
  /** The value's position in [0, 1], 0 at the bottom of an unflipped axis; MISSING_POS. */
  pos(v: CellValue | undefined): number;
  /** Numeric: the value at a position in [0, 1]. */
  invert(p: number): number;
  ticks(): Tick[];
}

/** The key a value has on a categorical axis (and in a categorical brush). */
export function categoryKey(v: CellValue): string {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return JSON.stringify(v);
}

function isAbsent(v: CellValue | undefined): boolean {
  return v === undefined || v === null || (typeof v === "number" && !Number.isFinite(v));
}

/**
 * The axis kind values call for: categorical if any is not a number (string, boolean, list);
 * log if all finite numbers are > 0 and span more than two decades; else linear. Missing
 * values (undefined, null, NaN, infinities) do not count.
 * Example: `inferKind([1e-4, 3e-3, 0.1])` is "log", `inferKind([1, "adam"])` "categorical".
 */
export function inferKind(values: Iterable<CellValue | undefined>): AxisKind {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (isAbsent(v)) continue;
    if (typeof v !== "number") return "categorical";
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo > 0 && hi / lo > LOG_RATIO ? "log" : "linear";
}

/** Numbers first (numerically), then false, true, then the rest by key. */
function compareCategories(a: [string, CellValue], b: [string, CellValue]): number {
  const rank = (v: CellValue): number => (typeof v === "number" ? 0 : typeof v === "boolean" ? 1 : 2);
  const ra = rank(a[1]);
  const rb = rank(b[1]);
  if (ra !== rb) return ra - rb;
  if (ra === 0) return (a[1] as number) - (b[1] as number);
  if (ra === 1) return Number(a[1]) - Number(b[1]);
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

/**
 * The scale of one axis over the values the lines have on it.
 * Example: `makeScale({ id: "lr", label: "lr" }, [1e-4, 1e-2]).pos(1e-3)` is 0.5 (log).
 */
export function makeScale(spec: AxisSpec, values: readonly (CellValue | undefined)[]): Scale {
  const kind = spec.kind ?? inferKind(values);
  return kind === "categorical" ? categoricalScale(values) : numericScale(kind, values);
}

function numericScale(kind: "linear" | "log", values: readonly (CellValue | undefined)[]): Scale {
  const log = kind === "log";
  const isMissing = (v: CellValue | undefined): boolean =>
    typeof v !== "number" || !Number.isFinite(v) || (log && v <= 0);
  let lo = Infinity;
  let hi = -Infinity;
  let hasMissing = false;
  for (const v of values) {
    if (isMissing(v)) {
      hasMissing = true;
      continue;
    }
    const x = v as number;
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  if (!(hi >= lo)) [lo, hi] = log ? [1, 10] : [0, 1];
  else if (hi === lo) {
    // One value: centred, on an axis half a decade (log) or half its size (linear) each way.
    const pad = Math.abs(lo) / 2 || 0.5;
    [lo, hi] = log ? [lo / Math.sqrt(10), hi * Math.sqrt(10)] : [lo - pad, hi + pad];
  }
  const f = log ? Math.log10 : (x: number): number => x;
  const flo = f(lo);
  const span = f(hi) - flo;
  const domain: [number, number] = [lo, hi];
  return {
    kind,
    domain,
    categories: [],
    hasMissing,
    isMissing,
    pos(v) {
      if (isMissing(v)) return MISSING_POS;
      return Math.min(1, Math.max(0, (f(v as number) - flo) / span));
    },
    invert(p) {
      // The ends exactly: a brush dragged to an end must hold the value there.
      if (p <= 0) return lo;
      if (p >= 1) return hi;
      const x = flo + p * span;
      return log ? 10 ** x : x;
    },
    ticks() {
      const out: Tick[] = log
        ? logTicks(lo, hi)
        : niceTicks(lo, hi).map((x) => ({ pos: (x - lo) / span, label: tickLabel(x) }));
      if (hasMissing) out.push({ pos: MISSING_POS, label: "missing" });
      return out;
    },
  };
}

function categoricalScale(values: readonly (CellValue | undefined)[]): Scale {
  const seen = new Map<string, CellValue>();
  let hasMissing = false;
  for (const v of values) {
    if (v === undefined || isAbsent(v)) hasMissing = true;
    else if (!seen.has(categoryKey(v))) seen.set(categoryKey(v), v);
  }
  const categories = [...seen].sort(compareCategories).map(([k]) => k);
  const index = new Map(categories.map((k, i) => [k, i]));
  const n = categories.length;
  const at = (i: number): number => (n === 1 ? 0.5 : i / (n - 1));
  const isMissing = (v: CellValue | undefined): boolean => v === undefined || isAbsent(v) || !index.has(categoryKey(v));
  return {
    kind: "categorical",
    domain: [0, Math.max(0, n - 1)],
    categories,
    hasMissing,
    isMissing,
    pos(v) {
      if (v === undefined || isAbsent(v)) return MISSING_POS;
      const i = index.get(categoryKey(v));
      return i === undefined ? MISSING_POS : at(i);
    },
    invert(p) {
      return Math.round(Math.min(1, Math.max(0, p)) * Math.max(0, n - 1));
    },
    ticks() {
      const out: Tick[] = categories.map((k, i) => ({ pos: at(i), label: k === "" ? '""' : k }));
      if (hasMissing) out.push({ pos: MISSING_POS, label: "missing" });
      return out;
    },
  };
}

/** Round numbers, about `count` of them, inside [lo, hi]. Example: niceTicks(0, 1) is 0, 0.2, ..., 1. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  const span = hi - lo;
  if (!(span > 0) || !Number.isFinite(span)) return [lo];
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const r = raw / mag;
  const step = (r >= 7.5 ? 10 : r >= 3.5 ? 5 : r >= 1.5 ? 2 : 1) * mag;
  const out: number[] = [];
  const last = Math.floor(hi / step + 1e-9);
  for (let i = Math.ceil(lo / step - 1e-9); i <= last; i++) out.push(Number((i * step).toPrecision(12)));
  return out;
}

/** A tick's number, short: round ticks need no padded digits ("2.5e-4", not "2.500e-4"). */
export function tickLabel(x: number): string {
  const a = Math.abs(x);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return Number(x.toPrecision(6)).toExponential().replace("e+", "e");
  return formatValue(x);
}

function logTicks(lo: number, hi: number): Tick[] {
  const llo = Math.log10(lo);
  const span = Math.log10(hi) - llo;
  const first = Math.ceil(llo - 1e-9);
  const last = Math.floor(Math.log10(hi) + 1e-9);
  if (last - first < 1) {
    // Less than a decade (only when the spec asks for log): round numbers instead.
    return niceTicks(lo, hi, 3)
      .filter((x) => x > 0)
      .map((x) => ({ pos: (Math.log10(x) - llo) / span, label: tickLabel(x) }));
  }
  const stride = Math.ceil((last - first + 1) / 6);
  const out: Tick[] = [];
  for (let k = first; k <= last; k += stride) {
    out.push({ pos: (k - llo) / span, label: Math.abs(k) <= 3 ? String(Number(`1e${k}`)) : `1e${k}` });
  }
  return out;
}

/** Whether a brush can apply to a scale: a range to a numeric axis, categories to a categorical one. */
export function brushApplies(scale: Scale, brush: Brush): boolean {
  return (brush.kind === "categories") === (scale.kind === "categorical");
}

/** Whether a value is inside a brush (that applies to the scale). */
export function inBrush(scale: Scale, brush: Brush, v: CellValue | undefined): boolean {
  if (scale.isMissing(v)) return brush.missing;
  if (brush.kind === "categories") return brush.values.includes(categoryKey(v as CellValue));
  const x = v as number;
  return brush.range !== null && x >= brush.range[0] && x <= brush.range[1];
}

/**
 * Whether a line's values are inside every brush that applies to an axis shown; brushes on
 * axes not shown, or of the wrong kind for their axis, are kept but ignored.
 */
export function insideBrushes(
  values: ReadonlyMap<string, CellValue | undefined>,
  scales: ReadonlyMap<string, Scale>,
  brushes: Readonly<Record<string, Brush>>,
): boolean {
  for (const [id, brush] of Object.entries(brushes)) {
    const scale = scales.get(id);
    if (scale && brushApplies(scale, brush) && !inBrush(scale, brush, values.get(id))) return false;
  }
  return true;
}

/** The ids of the lines inside every brush; null when no brush applies. */
export function brushedIds(
  lines: readonly PcLine[],
  scales: ReadonlyMap<string, Scale>,
  brushes: Readonly<Record<string, Brush>>,
): Set<string> | null {
  const any = Object.entries(brushes).some(([id, b]) => {
    const s = scales.get(id);
    return s !== undefined && brushApplies(s, b);
  });
  if (!any) return null;
  return new Set(lines.filter((l) => insideBrushes(l.values, scales, brushes)).map((l) => l.id));
}

/** A brush as read back from saved JSON, or null when it is not one. */
export function parseBrush(x: unknown): Brush | null {
  if (typeof x !== "object" || x === null) return null;
  const o = x as Record<string, unknown>;
  if (typeof o.missing !== "boolean") return null;
  if (o.kind === "categories") {
    if (!Array.isArray(o.values) || !o.values.every((v) => typeof v === "string")) return null;
    return { kind: "categories", values: [...(o.values as string[])], missing: o.missing };
  }
  if (o.kind !== "range") return null;
  if (o.range === null) return { kind: "range", range: null, missing: o.missing };
  const r = o.range;
  if (!Array.isArray(r) || r.length !== 2) return null;
  const [lo, hi] = r as unknown[];
  if (typeof lo !== "number" || typeof hi !== "number" || !Number.isFinite(lo) || !Number.isFinite(hi)) return null;
  return { kind: "range", range: [Math.min(lo, hi), Math.max(lo, hi)], missing: o.missing };
}

/** Where an axis sits vertically, in px from the plot's top. */
export interface AxisLayout {
  top: number;
  bottom: number;
  missingY: number;
}

/** The screen y of a position on an axis. */
export function yOf(pos: number, flipped: boolean, l: AxisLayout): number {
  if (pos === MISSING_POS) return l.missingY;
  return l.bottom - (flipped ? 1 - pos : pos) * (l.bottom - l.top);
}

/**
 * The brush a vertical drag from y0 to y1 (px) draws on an axis, or null when it reaches
 * neither the axis nor its missing mark. The missing mark is inside only if the drag reaches
 * it (within MISSING_HIT px).
 */
export function brushFromDrag(scale: Scale, flipped: boolean, y0: number, y1: number, l: AxisLayout): Brush | null {
  const ya = Math.min(y0, y1);
  const yb = Math.max(y0, y1);
  const missing = yb >= l.missingY - MISSING_HIT && ya <= l.missingY + MISSING_HIT;
  const onAxis = yb >= l.top && ya <= l.bottom;
  if (!onAxis && !missing) return null;
  const clamp = (p: number): number => Math.min(1, Math.max(0, p));
  const h = l.bottom - l.top;
  const s0 = clamp((l.bottom - yb) / h); // screen positions, 0 at the bottom
  const s1 = clamp((l.bottom - ya) / h);
  const [p0, p1] = flipped ? [1 - s1, 1 - s0] : [s0, s1];
  if (scale.kind === "categorical") {
    const n = scale.categories.length;
    const values = onAxis ? scale.categories.filter((_, i) => {
      const p = n === 1 ? 0.5 : i / (n - 1);
      return p >= p0 - 1e-9 && p <= p1 + 1e-9;
    }) : [];
    return { kind: "categories", values, missing };
  }
  return { kind: "range", range: onAxis ? [scale.invert(p0), scale.invert(p1)] : null, missing };
}

/**
 * Where a brush's rectangles go (px): the values part (null when none) and whether the
 * missing mark has one of its own. A values part reaching the axis' bottom end is extended
 * over the missing mark rather than drawn beside it.
 */
export function brushRects(
  scale: Scale,
  flipped: boolean,
  brush: Brush,
  l: AxisLayout,
): { values: { top: number; bottom: number } | null; missing: boolean } {
  let ys: number[];
  let pad = 0;
  if (brush.kind === "categories") {
    ys = brush.values.filter((k) => scale.categories.includes(k)).map((k) => yOf(scale.pos(k), flipped, l));
    pad = 5;
  } else {
    ys = brush.range ? brush.range.map((x) => yOf(scale.pos(x), flipped, l)) : [];
  }
  if (!ys.length) return { values: null, missing: brush.missing };
  let top = Math.min(...ys) - pad;
  let bottom = Math.max(...ys) + pad;
  if (bottom - top < 2) [top, bottom] = [top - 1, bottom + 1];
  if (brush.missing && bottom >= l.bottom - 0.5) return { values: { top, bottom: l.missingY + MISSING_HIT }, missing: false };
  return { values: { top, bottom }, missing: brush.missing };
}

/** The screen ys of a line on the axes, left to right. */
export function lineYs(
  values: ReadonlyMap<string, CellValue | undefined>,
  ids: readonly string[],
  scales: ReadonlyMap<string, Scale>,
  flipped: ReadonlySet<string>,
  l: AxisLayout,
): Float64Array {
  const ys = new Float64Array(ids.length);
  ids.forEach((id, i) => {
    const s = scales.get(id);
    ys[i] = yOf(s ? s.pos(values.get(id)) : MISSING_POS, flipped.has(id), l);
  });
  return ys;
}

function segmentDistance(px: number, py: number, x0: number, y0: number, x1: number, y1: number): number {
  const dx = x1 - x0;
  const dy = y1 - y0;
  const len2 = dx * dx + dy * dy;
  const t = len2 > 0 ? Math.min(1, Math.max(0, ((px - x0) * dx + (py - y0) * dy) / len2)) : 0;
  return Math.hypot(px - (x0 + t * dx), py - (y0 + t * dy));
}

/**
 * The index of the line nearest to (px, py) within maxDist px (distance to its polyline),
 * -1 when none; of equally near lines the later one (drawn on top). `eligible` skips lines.
 */
export function nearestLine(
  xs: ArrayLike<number>,
  ys: readonly ArrayLike<number>[],
  px: number,
  py: number,
  maxDist = HOVER_PX,
  eligible?: (i: number) => boolean,
): number {
  const n = xs.length;
  if (!n) return -1;
  // Only the segments whose x range comes within maxDist of the pointer.
  const segs: number[] = [];
  if (n === 1) segs.push(0);
  for (let k = 0; k + 1 < n; k++) {
    const a = xs[k] ?? 0;
    const b = xs[k + 1] ?? 0;
    if (px >= Math.min(a, b) - maxDist && px <= Math.max(a, b) + maxDist) segs.push(k);
  }
  let best = -1;
  let bestD = maxDist;
  ys.forEach((y, i) => {
    if (eligible && !eligible(i)) return;
    for (const k of segs) {
      const k1 = n === 1 ? k : k + 1;
      const d = segmentDistance(px, py, xs[k] ?? 0, y[k] ?? 0, xs[k1] ?? 0, y[k1] ?? 0);
      if (d <= bestD) {
        bestD = d;
        best = i;
      }
    }
  });
  return best;
}

// Viridis (matplotlib's), sampled at 11 even stops; linear between them is within a few
// levels of the full table.
const VIRIDIS: readonly (readonly [number, number, number])[] = [
  [68, 1, 84], [72, 36, 117], [65, 68, 135], [53, 95, 141], [42, 120, 142], [33, 145, 140],
  [34, 168, 132], [68, 191, 112], [122, 209, 81], [189, 223, 38], [253, 231, 37],
];

/** The viridis colour at t in [0, 1] (clamped; NaN is 0), as [r, g, b]. */
export function viridisRgb(t: number): [number, number, number] {
  const u = Number.isNaN(t) ? 0 : Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(u));
  const f = u - i;
  const a = VIRIDIS[i] ?? VIRIDIS[0]!;
  const b = VIRIDIS[i + 1] ?? a;
  return [0, 1, 2].map((c) => Math.round(a[c]! + (b[c]! - a[c]!) * f)) as [number, number, number];
}

/** The viridis colour at t as CSS. Example: `viridis(0)` is "rgb(68, 1, 84)". */
export function viridis(t: number): string {
  const [r, g, b] = viridisRgb(t);
  return `rgb(${r}, ${g}, ${b})`;
}

/** The colour of a line whose metric is missing, when colouring by metric. */
export const MISSING_COLOR = "#a8a29e";

/** Each line's colour: by the metric's position on its scale, or the line's own. */
export function lineColors(
  lines: readonly PcLine[],
  metricAxis: string | null,
  metricScale: Scale | null,
): string[] {
  if (metricAxis === null || !metricScale) return lines.map((l) => l.color);
  return lines.map((l) => {
    const p = metricScale.pos(l.values.get(metricAxis));
    return p === MISSING_POS ? MISSING_COLOR : viridis(p);
  });
}

/** The axes shown, left to right: those in `order` first, in its order, then the rest. */
export function displayOrder(order: readonly string[], ids: readonly string[]): string[] {
  const present = new Set(ids);
  const placed = order.filter((id, i) => present.has(id) && order.indexOf(id) === i);
  const inOrder = new Set(placed);
  return [...placed, ...ids.filter((id) => !inOrder.has(id))];
}

/** `shown` with `id` moved to index `to`. */
export function moveAxis(shown: readonly string[], id: string, to: number): string[] {
  const out = shown.filter((x) => x !== id);
  out.splice(Math.max(0, Math.min(out.length, to)), 0, id);
  return out;
}

/** The full order with the shown axes put in `shown`'s order, in the places shown ones held. */
export function mergeOrder(full: readonly string[], shown: readonly string[]): string[] {
  const isShown = new Set(shown);
  const next = shown[Symbol.iterator]();
  const out = full.map((id) => (isShown.has(id) ? (next.next().value as string) : id));
  for (let r = next.next(); !r.done; r = next.next()) out.push(r.value);
  return out;
}

/** The axes' x positions in a plot `width` px wide. */
export function axisXs(n: number, width: number): Float64Array {
  const xs = new Float64Array(n);
  const inner = Math.max(0, width - PAD_LEFT - PAD_RIGHT);
  for (let i = 0; i < n; i++) xs[i] = n === 1 ? PAD_LEFT + inner / 2 : PAD_LEFT + (i * inner) / (n - 1);
  return xs;
}

/** The index of the axis slot nearest to x. */
export function slotAt(xs: ArrayLike<number>, x: number): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (Math.abs((xs[i] ?? 0) - x) < Math.abs((xs[best] ?? 0) - x)) best = i;
  return best;
}

const PAD_LEFT = 36;
const PAD_RIGHT = 64; // the last axis' tick labels sit to its right
const PAD_TOP = 46; // label and flip button
const AXIS_BOTTOM_GAP = 36; // axis end to the plot's bottom; the missing mark in between
const MISSING_GAP = 16; // missing mark to the plot's bottom
const AXIS_W = 28; // the brushable strip
const DRAG_PX = 3;
const LINE_ALPHA = 0.85;
const FAINT = "#cbd5e1";
const AXIS_COLOR = "#94a3b8";

interface AxisView {
  id: string;
  el: HTMLElement;
  label: HTMLElement;
  flip: HTMLButtonElement;
  ticks: HTMLElement;
  brush: HTMLElement;
  brushMissing: HTMLElement;
}

type Drag =
  | { kind: "brush"; id: string; y0: number; y1: number; moved: boolean; before: Brush | undefined }
  | { kind: "move"; id: string; x0: number; moved: boolean; before: string[] };

const raf = (f: () => void): number =>
  typeof requestAnimationFrame === "function" ? requestAnimationFrame(f) : (setTimeout(f, 16) as unknown as number);
const cancelRaf = (h: number): void =>
  typeof cancelAnimationFrame === "function" ? cancelAnimationFrame(h) : clearTimeout(h);

/**
 * The parallel-coordinates plot.
 * Example:
 *   const pc = new ParallelCoordinates(el, { onBrush: (ids) => table.filter(ids), onHover, onStateChange: save });
 *   pc.setData(lines, [{ id: "config:lr", label: "lr" }, { id: "summary:acc", label: "acc" }], "summary:acc");
 */
export class ParallelCoordinates {
  private readonly root: HTMLElement;
  private readonly plot: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly colorSelect: HTMLSelectElement;
  private readonly legend: HTMLElement;
  private readonly legendName: HTMLElement;
  private readonly legendLo: HTMLElement;
  private readonly legendHi: HTMLElement;
  private readonly axes = new Map<string, AxisView>();
  private readonly resize: ResizeObserver | null = null;

  private lines: PcLine[] = [];
  private index = new Map<string, number>();
  private specs = new Map<string, AxisSpec>();
  private scales = new Map<string, Scale>();
  private metricAxis: string | null = null;
  private metricScale: Scale | null = null;

  private order: string[] = [];
  private readonly flipped = new Set<string>();
  private readonly known = new Set<string>(); // axes whose direction the state has decided
  private brushes: Record<string, Brush> = {};
  private colorBy: PcState["colorBy"] = "metric";

  // Cached between frames: a brush drag redraws from these and rebuilds nothing.
  private shownAxes: string[] = [];
  private xs: Float64Array = new Float64Array(0);
  private ys: Float64Array[] = [];
  private colors: string[] = [];
  private inside: Set<string> | null = null;
  private layoutBox: AxisLayout = { top: PAD_TOP, bottom: PAD_TOP + 1, missingY: PAD_TOP + 2 };
  private width = 0;
  private height = 0;
  private dpr = 1;

  private hoveredId: string | null = null;
  private highlightedId: string | null = null;
  private drag: Drag | null = null;
  private frame = 0;
  private needLayout = true;
  private needTicks = true;
  private lastBrushed: Set<string> | null = null;
  private destroyed = false;

  constructor(
    private readonly el: HTMLElement,
    private readonly opts: PcOptions,
  ) {
    this.root = div("nbt-pc");
    this.root.dataset.lines = "0";
    this.root.dataset.highlighted = "";
    const bar = div("nbt-pc-bar");
    this.colorSelect = document.createElement("select");
    this.colorSelect.className = "nbt-pc-color";
    this.colorSelect.setAttribute("aria-label", "colour lines by");
    for (const [value, text] of [["metric", "colour by metric"], ["run", "colour by run"]] as const) {
      const o = document.createElement("option");
      o.value = value;
      o.textContent = text;
      this.colorSelect.append(o);
    }
    this.colorSelect.addEventListener("change", () => {
      this.colorBy = this.colorSelect.value === "run" ? "run" : "metric";
      this.recolor();
      this.schedule();
      this.emitState();
    });
    this.legend = div("nbt-pc-legend");
    this.legendName = div("nbt-pc-legend-name");
    this.legendLo = div("nbt-pc-legend-lo");
    this.legendHi = div("nbt-pc-legend-hi");
    this.legend.append(this.legendName, this.legendLo, div("nbt-pc-legend-bar"), this.legendHi);
    bar.append(this.colorSelect, this.legend);

    this.plot = div("nbt-pc-plot");
    this.canvas = document.createElement("canvas");
    this.plot.append(this.canvas);
    this.plot.addEventListener("pointermove", this.onHoverMove);
    this.plot.addEventListener("pointerleave", this.onHoverLeave);
    this.root.append(bar, this.plot);
    el.append(this.root);

    if (typeof ResizeObserver === "function") {
      this.resize = new ResizeObserver(() => this.schedule(true));
      this.resize.observe(this.plot);
    } else {
      window.addEventListener("resize", this.onWindowResize);
    }
    this.updateLegend();
  }

  /** The runs and the axes; the state (order, flips, brushes) is kept across calls. */
  setData(lines: PcLine[], axes: AxisSpec[], metricAxis: string | null): void {
    this.lines = lines;
    this.index = new Map(lines.map((l, i) => [l.id, i]));
    this.specs = new Map(axes.map((a) => [a.id, a]));
    for (const a of axes) {
      if (!this.known.has(a.id) && a.flipped) this.flipped.add(a.id);
      this.known.add(a.id);
      if (!this.order.includes(a.id)) this.order.push(a.id);
    }
    this.scales = new Map(axes.map((a) => [a.id, makeScale(a, lines.map((l) => l.values.get(a.id)))]));
    this.metricAxis = metricAxis;
    this.metricScale =
      metricAxis === null
        ? null
        : (this.scales.get(metricAxis) ?? makeScale({ id: metricAxis, label: metricAxis }, lines.map((l) => l.values.get(metricAxis))));
    this.syncAxes(axes);
    this.recolor();
    this.updateMembership();
    this.schedule(true, true);
  }

  /** Restores a saved state (all of it or a part); calls no onStateChange. */
  setState(s: Partial<PcState>): void {
    if (s.order) {
      this.order = [...new Set(s.order)];
      for (const id of this.order) this.known.add(id);
    }
    if (s.flipped) {
      this.flipped.clear();
      for (const id of s.flipped) {
        this.flipped.add(id);
        this.known.add(id);
      }
    }
    if (s.brushes) {
      this.brushes = {};
      for (const [id, b] of Object.entries(s.brushes)) {
        const parsed = parseBrush(b);
        if (parsed) this.brushes[id] = parsed;
      }
      this.updateMembership();
    }
    if (s.colorBy === "metric" || s.colorBy === "run") {
      this.colorBy = s.colorBy;
      this.recolor();
    }
    this.schedule(true, true);
  }

  /** Draws that line on top, thicker, the others dimmed (null: none). */
  highlight(id: string | null): void {
    this.highlightedId = id;
    this.updateHighlighted();
    this.schedule();
  }

  /** The ids inside every brush; null when there is no brush. */
  shown(): Set<string> | null {
    return this.inside ? new Set(this.inside) : null;
  }

  destroy(): void {
    this.destroyed = true;
    if (this.frame) cancelRaf(this.frame);
    this.frame = 0;
    this.resize?.disconnect();
    window.removeEventListener("resize", this.onWindowResize);
    this.root.remove();
  }

  private state(): PcState {
    const brushes: Record<string, Brush> = {};
    for (const [id, b] of Object.entries(this.brushes)) brushes[id] = parseBrush(b) as Brush; // a copy
    return { order: [...this.order], flipped: [...this.flipped].sort(), brushes, colorBy: this.colorBy };
  }

  private emitState(): void {
    if (!this.destroyed) this.opts.onStateChange(this.state());
  }

  private syncAxes(specs: AxisSpec[]): void {
    const ids = new Set(specs.map((a) => a.id));
    for (const [id, ax] of this.axes) {
      if (!ids.has(id)) {
        if (this.drag?.id === id) this.drag = null; // its pointerup will not come
        ax.el.remove();
        this.axes.delete(id);
      }
    }
    for (const spec of specs) {
      let ax = this.axes.get(spec.id);
      if (!ax) {
        ax = this.makeAxis(spec.id);
        this.axes.set(spec.id, ax);
        this.plot.append(ax.el);
      }
      // Labels are user data (config keys): text only, never markup.
      if (ax.label.textContent !== spec.label) {
        ax.label.textContent = spec.label;
        ax.label.title = spec.label;
      }
    }
  }

  private makeAxis(id: string): AxisView {
    const el = div("nbt-pc-axis");
    el.dataset.axis = id;
    const label = div("nbt-pc-label");
    const flip = document.createElement("button");
    flip.type = "button";
    flip.className = "nbt-pc-flip";
    flip.dataset.flip = "";
    flip.textContent = "⇅";
    flip.title = "flip this axis";
    const ticks = div("nbt-pc-ticks");
    const brush = div("nbt-pc-brush");
    brush.hidden = true;
    const brushMissing = div("nbt-pc-brush nbt-pc-brush-missing");
    brushMissing.hidden = true;
    el.append(ticks, brush, brushMissing, label, flip);
    const ax: AxisView = { id, el, label, flip, ticks, brush, brushMissing };
    flip.addEventListener("click", () => {
      if (this.flipped.has(id)) this.flipped.delete(id);
      else this.flipped.add(id);
      this.schedule(true, true);
      this.emitState();
    });
    el.addEventListener("pointerdown", (e) => this.onAxisDown(ax, e));
    el.addEventListener("pointermove", (e) => this.onAxisMove(ax, e));
    el.addEventListener("pointerup", (e) => this.onAxisUp(ax, e));
    el.addEventListener("pointercancel", (e) => this.onAxisUp(ax, e));
    el.addEventListener("lostpointercapture", (e) => this.onAxisUp(ax, e));
    return ax;
  }

  private local(e: PointerEvent): [number, number] {
    const r = this.plot.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  }

  private onAxisDown(ax: AxisView, e: PointerEvent): void {
    if (e.button !== 0 || this.drag) return;
    const target = e.target as Element | null;
    if (target?.closest("[data-flip]")) return;
    const [x, y] = this.local(e);
    if (target?.closest(".nbt-pc-label")) {
      this.drag = { kind: "move", id: ax.id, x0: x, moved: false, before: [...this.shownAxes] };
    } else {
      this.drag = { kind: "brush", id: ax.id, y0: y, y1: y, moved: false, before: this.brushes[ax.id] };
    }
    ax.el.setPointerCapture?.(e.pointerId);
    e.preventDefault();
    this.setHover(null);
  }

  private onAxisMove(ax: AxisView, e: PointerEvent): void {
    const d = this.drag;
    if (!d || d.id !== ax.id) return;
    const [x, y] = this.local(e);
    if (d.kind === "brush") {
      d.y1 = y;
      if (!d.moved && Math.abs(d.y1 - d.y0) < DRAG_PX) return;
      d.moved = true;
      const scale = this.scales.get(ax.id);
      if (!scale) return;
      const b = brushFromDrag(scale, this.flipped.has(ax.id), d.y0, d.y1, this.layoutBox);
      if (b) this.brushes[ax.id] = b;
      else delete this.brushes[ax.id];
      this.updateMembership();
      // While dragging the rectangle follows the pointer; it snaps to the brush's values after.
      showRect(ax.brush, Math.min(d.y0, d.y1), Math.max(d.y0, d.y1));
      ax.brushMissing.hidden = true;
      this.schedule();
    } else {
      if (!d.moved && Math.abs(x - d.x0) < DRAG_PX + 1) return;
      d.moved = true;
      ax.el.classList.add("nbt-pc-dragging");
      ax.el.style.left = `${x - AXIS_W / 2}px`;
      const to = slotAt(this.xs, x);
      if (this.shownAxes.indexOf(ax.id) !== to) {
        this.order = mergeOrder(this.order, moveAxis(this.shownAxes, ax.id, to));
        this.layout(); // the others move now; this one follows the pointer
        this.schedule();
      }
    }
  }

  private onAxisUp(ax: AxisView, e: PointerEvent): void {
    const d = this.drag;
    if (!d || d.id !== ax.id) return;
    this.drag = null;
    if (ax.el.hasPointerCapture?.(e.pointerId)) ax.el.releasePointerCapture(e.pointerId);
    if (d.kind === "brush") {
      if (!d.moved) delete this.brushes[ax.id]; // a click clears the axis' brush
      this.updateMembership();
      this.placeBrush(ax);
      this.schedule();
      if (d.moved || d.before) this.emitState();
    } else {
      ax.el.classList.remove("nbt-pc-dragging");
      this.schedule(true);
      if (d.moved && d.before.join("\u0000") !== this.shownAxes.join("\u0000")) this.emitState();
    }
  }

  private readonly onHoverMove = (e: PointerEvent): void => {
    if (this.drag) return;
    const [x, y] = this.local(e);
    const inside = this.inside;
    const i = nearestLine(this.xs, this.ys, x, y, HOVER_PX, inside ? (k) => inside.has(this.lines[k]?.id ?? "") : undefined);
    this.setHover(i >= 0 ? (this.lines[i]?.id ?? null) : null);
  };

  private readonly onHoverLeave = (): void => {
    if (!this.drag) this.setHover(null);
  };

  private readonly onWindowResize = (): void => this.schedule(true);

  private setHover(id: string | null): void {
    if (id === this.hoveredId) return;
    this.hoveredId = id;
    this.updateHighlighted();
    this.schedule();
    if (!this.destroyed) this.opts.onHover(id);
  }

  /** The line drawn on top: the hovered one, else the one highlighted from outside. */
  private topLine(): number {
    for (const id of [this.hoveredId, this.highlightedId]) {
      const i = id === null ? undefined : this.index.get(id);
      if (i !== undefined) return i;
    }
    return -1;
  }

  private updateHighlighted(): void {
    this.root.dataset.highlighted = this.lines[this.topLine()]?.id ?? "";
  }

  private recolor(): void {
    const byMetric = this.colorBy === "metric" && this.metricAxis !== null;
    this.colors = lineColors(this.lines, byMetric ? this.metricAxis : null, this.metricScale);
    this.updateLegend();
  }

  private updateLegend(): void {
    const s = this.metricScale;
    const metric = this.metricAxis;
    const metricOption = this.colorSelect.options[0];
    if (metricOption) metricOption.disabled = metric === null;
    this.colorSelect.value = metric === null ? "run" : this.colorBy;
    this.legend.hidden = !(this.colorBy === "metric" && metric !== null && s);
    if (this.legend.hidden || !s || metric === null) return;
    this.legendName.textContent = this.specs.get(metric)?.label ?? metric;
    const [lo, hi] =
      s.kind === "categorical" ? [s.categories[0] ?? "", s.categories[s.categories.length - 1] ?? ""] : s.domain.map(formatValue);
    this.legendLo.textContent = lo ?? "";
    this.legendHi.textContent = `${hi ?? ""}${s.kind === "log" ? " (log)" : ""}`;
  }

  private updateMembership(): void {
    this.inside = brushedIds(this.lines, this.scales, this.brushes);
    this.root.dataset.shown = this.inside ? String(this.inside.size) : String(this.lines.length);
  }

  private schedule(layout = false, ticks = false): void {
    this.needLayout ||= layout;
    this.needTicks ||= ticks;
    if (this.frame || this.destroyed) return;
    this.frame = raf(() => {
      this.frame = 0;
      if (this.destroyed) return;
      if (this.needLayout) this.layout();
      this.draw();
      this.emitBrush();
    });
  }

  private emitBrush(): void {
    const now = this.inside;
    const last = this.lastBrushed;
    const same = now === null || last === null ? now === last : now.size === last.size && [...now].every((id) => last.has(id));
    if (same) return;
    this.lastBrushed = now ? new Set(now) : null;
    this.opts.onBrush(now ? new Set(now) : null);
  }

  private layout(): void {
    this.needLayout = false;
    const w = this.plot.clientWidth;
    const h = this.plot.clientHeight;
    const dpr = (typeof window !== "undefined" && window.devicePixelRatio) || 1;
    if (w !== this.width || h !== this.height || dpr !== this.dpr) {
      if (h !== this.height) this.needTicks = true;
      this.width = w;
      this.height = h;
      this.dpr = dpr;
      this.canvas.width = Math.max(1, Math.round(w * dpr));
      this.canvas.height = Math.max(1, Math.round(h * dpr));
      this.canvas.style.width = `${w}px`;
      this.canvas.style.height = `${h}px`;
    }
    const bottom = Math.max(PAD_TOP + 20, h - AXIS_BOTTOM_GAP);
    this.layoutBox = { top: PAD_TOP, bottom, missingY: Math.max(bottom + 10, h - MISSING_GAP) };
    this.shownAxes = displayOrder(this.order, [...this.specs.keys()]);
    const n = this.shownAxes.length;
    this.xs = axisXs(n, w);
    const labelW = Math.max(40, Math.min(160, n > 1 ? (this.xs[1]! - this.xs[0]!) - 8 : 160));
    this.shownAxes.forEach((id, i) => {
      const ax = this.axes.get(id);
      if (!ax) return;
      if (this.drag?.kind !== "move" || this.drag.id !== id) ax.el.style.left = `${(this.xs[i] ?? 0) - AXIS_W / 2}px`;
      ax.label.style.maxWidth = `${labelW}px`;
      if (this.flipped.has(id)) ax.el.dataset.flipped = "";
      else delete ax.el.dataset.flipped;
      if (this.needTicks) this.placeTicks(ax);
      if (this.drag?.kind !== "brush" || this.drag.id !== id) this.placeBrush(ax);
    });
    this.needTicks = false;
    const flipped = this.flipped;
    this.ys = this.lines.map((l) => lineYs(l.values, this.shownAxes, this.scales, flipped, this.layoutBox));
  }

  private placeTicks(ax: AxisView): void {
    const scale = this.scales.get(ax.id);
    if (!scale) return;
    const ticks = scale.ticks();
    const values = ticks.filter((t) => t.pos !== MISSING_POS);
    // Many categories: every k-th label, ~14 px apart at least.
    const room = Math.max(1, Math.floor((this.layoutBox.bottom - this.layoutBox.top) / 14) + 1);
    const stride = Math.ceil(values.length / room);
    const kept = values.filter((_, i) => i % stride === 0);
    const missing = ticks.find((t) => t.pos === MISSING_POS);
    if (missing) kept.push(missing);
    ax.ticks.replaceChildren(
      ...kept.map((t) => {
        const s = document.createElement("span");
        s.className = t.pos === MISSING_POS ? "nbt-pc-tick nbt-pc-tick-missing" : "nbt-pc-tick";
        s.textContent = t.label;
        s.style.top = `${yOf(t.pos, this.flipped.has(ax.id), this.layoutBox)}px`;
        return s;
      }),
    );
  }

  private placeBrush(ax: AxisView): void {
    const scale = this.scales.get(ax.id);
    const brush = this.brushes[ax.id];
    if (!scale || !brush || !brushApplies(scale, brush)) {
      ax.brush.hidden = true;
      ax.brushMissing.hidden = true;
      return;
    }
    const l = this.layoutBox;
    const r = brushRects(scale, this.flipped.has(ax.id), brush, l);
    if (r.values) showRect(ax.brush, r.values.top, r.values.bottom);
    else ax.brush.hidden = true;
    if (r.missing) showRect(ax.brushMissing, l.missingY - MISSING_HIT, l.missingY + MISSING_HIT);
    else ax.brushMissing.hidden = true;
  }

  private draw(): void {
    const ctx = this.canvas.getContext("2d");
    this.root.dataset.lines = String(this.shownAxes.length ? this.lines.length : 0);
    if (!ctx) return;
    const { width: w, height: h, xs, ys, layoutBox: l } = this;
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    if (!w || !h || !xs.length) return;

    ctx.lineWidth = 1;
    ctx.strokeStyle = AXIS_COLOR;
    ctx.globalAlpha = 1;
    ctx.beginPath();
    this.shownAxes.forEach((id, i) => {
      const x = xs[i] ?? 0;
      ctx.moveTo(x, l.top);
      ctx.lineTo(x, l.bottom);
      if (this.scales.get(id)?.hasMissing) {
        ctx.moveTo(x - 5, l.missingY);
        ctx.lineTo(x + 5, l.missingY);
      }
    });
    ctx.stroke();

    const top = this.topLine();
    const dim = top >= 0;
    const inside = this.inside;
    const isIn = (i: number): boolean => !inside || inside.has(this.lines[i]?.id ?? "");
    ctx.lineJoin = "round";
    ctx.lineWidth = 1.25;
    // Lines outside the brushes: one grey path, under the others.
    if (inside) {
      ctx.strokeStyle = FAINT;
      ctx.globalAlpha = dim ? 0.35 : 0.7;
      ctx.beginPath();
      ys.forEach((y, i) => {
        if (i !== top && !isIn(i)) trace(ctx, xs, y);
      });
      ctx.stroke();
    }
    ctx.globalAlpha = dim ? 0.25 : LINE_ALPHA;
    ctx.lineWidth = 1.5;
    ys.forEach((y, i) => {
      if (i === top || !isIn(i)) return;
      ctx.strokeStyle = this.colors[i] ?? AXIS_COLOR;
      ctx.beginPath();
      trace(ctx, xs, y);
      ctx.stroke();
    });
    const ty = ys[top];
    if (ty) {
      ctx.globalAlpha = 1;
      ctx.lineWidth = 3.5;
      ctx.strokeStyle = "#ffffff";
      ctx.beginPath();
      trace(ctx, xs, ty);
      ctx.stroke(); // a halo, so the line stands out of a dense bundle
      ctx.lineWidth = 2.5;
      ctx.strokeStyle = this.colors[top] ?? AXIS_COLOR;
      ctx.stroke();
    }
    ctx.globalAlpha = 1;
  }
}

function trace(ctx: CanvasRenderingContext2D, xs: Float64Array, ys: Float64Array): void {
  if (xs.length === 1) {
    ctx.moveTo((xs[0] ?? 0) - 6, ys[0] ?? 0);
    ctx.lineTo((xs[0] ?? 0) + 6, ys[0] ?? 0);
    return;
  }
  ctx.moveTo(xs[0] ?? 0, ys[0] ?? 0);
  for (let k = 1; k < xs.length; k++) ctx.lineTo(xs[k] ?? 0, ys[k] ?? 0);
}

function showRect(el: HTMLElement, top: number, bottom: number): void {
  el.hidden = false;
  el.style.top = `${top}px`;
  el.style.height = `${Math.max(2, bottom - top)}px`;
}

function div(cls: string, text?: string): HTMLDivElement {
  const d = document.createElement("div");
  d.className = cls;
  if (text !== undefined) d.textContent = text;
  return d;
}

const GRADIENT = VIRIDIS.map(([r, g, b]) => `rgb(${r}, ${g}, ${b})`).join(", ");

export const PARALLEL_CSS = `
.nbtrack-dashboard .nbt-pc {
  display: flex; flex-direction: column; gap: 4px;
  background: var(--nbt-card, #fff); border: 1px solid var(--nbt-border, #e2e8f0);
  border-radius: 6px; padding: 6px 8px;
}
.nbtrack-dashboard .nbt-pc-bar { display: flex; align-items: center; gap: 12px; font-size: 12px; color: var(--nbt-muted, #64748b); }
.nbtrack-dashboard .nbt-pc-color { font: inherit; color: var(--nbt-fg, #1e293b); }
.nbtrack-dashboard .nbt-pc-legend { display: inline-flex; align-items: center; gap: 6px; min-width: 0; }
.nbtrack-dashboard .nbt-pc-legend[hidden] { display: none; }
.nbtrack-dashboard .nbt-pc-legend-name {
  color: var(--nbt-fg, #1e293b); font-weight: 500; max-width: 28ch;
  overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
}
.nbtrack-dashboard .nbt-pc-legend-lo, .nbtrack-dashboard .nbt-pc-legend-hi { font-variant-numeric: tabular-nums; }
.nbtrack-dashboard .nbt-pc-legend-bar {
  width: 120px; height: 8px; border-radius: 4px; background: linear-gradient(to right, ${GRADIENT});
}
.nbtrack-dashboard .nbt-pc-plot { position: relative; height: 300px; user-select: none; touch-action: none; }
.nbtrack-dashboard .nbt-pc-plot > canvas { position: absolute; left: 0; top: 0; display: block; }
.nbtrack-dashboard .nbt-pc-axis { position: absolute; top: 0; bottom: 0; width: ${AXIS_W}px; cursor: crosshair; touch-action: none; }
.nbtrack-dashboard .nbt-pc-axis.nbt-pc-dragging { z-index: 2; opacity: .8; }
.nbtrack-dashboard .nbt-pc-label {
  position: absolute; top: 0; left: 50%; transform: translateX(-50%);
  font-size: 12px; font-weight: 500; text-align: center; cursor: grab;
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
}
.nbtrack-dashboard .nbt-pc-dragging .nbt-pc-label { cursor: grabbing; }
.nbtrack-dashboard .nbt-pc-flip {
  position: absolute; top: 19px; left: 50%; transform: translateX(-50%);
  font: inherit; font-size: 10px; line-height: 1; padding: 1px 4px; cursor: pointer;
  color: var(--nbt-muted, #64748b); background: var(--nbt-card, #fff);
  border: 1px solid var(--nbt-border, #e2e8f0); border-radius: 4px;
}
.nbtrack-dashboard .nbt-pc-axis[data-flipped] .nbt-pc-flip { color: #2563eb; border-color: #93c5fd; }
.nbtrack-dashboard .nbt-pc-ticks { position: absolute; inset: 0; pointer-events: none; }
.nbtrack-dashboard .nbt-pc-tick {
  position: absolute; left: calc(50% + 5px); transform: translateY(-50%);
  font-size: 10px; color: var(--nbt-muted, #64748b); white-space: nowrap; font-variant-numeric: tabular-nums;
  max-width: 14ch; overflow: hidden; text-overflow: ellipsis;
  text-shadow: 0 0 2px var(--nbt-card, #fff), 0 0 2px var(--nbt-card, #fff);
}
.nbtrack-dashboard .nbt-pc-tick-missing { font-style: italic; }
.nbtrack-dashboard .nbt-pc-brush {
  position: absolute; left: 50%; width: 14px; margin-left: -7px; box-sizing: border-box; pointer-events: none;
  background: rgba(37, 99, 235, .15); border: 1px solid rgba(37, 99, 235, .7); border-radius: 2px;
}
.nbtrack-dashboard .nbt-pc-brush[hidden] { display: none; }
`;
