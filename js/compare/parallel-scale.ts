// The DOM-free core of the compare view's parallel-coordinates plot (parallel.ts): axis
// kinds and scales, brushes, screen geometry and hit-testing, line colours and axis order.
// Everything here is plain numbers and strings, so the tests call it without a DOM, and
// ParallelCoordinates only wires it to pointer events and a canvas.
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
export const VIRIDIS: readonly (readonly [number, number, number])[] = [
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
