// One metric of the compare view: a line per drawn run in its colour, or, with grouped rows,
// each group's mean with a min-max band. Drawn by BokehJS as one multi_line (and one patches
// for the bands), so two hundred runs cost three renderers, not six hundred; each line is
// reduced per pixel column (reduce.ts) before Bokeh sees it.
//
// The run dashboard's controls apply: smoothing (the raw lines fade under the smoothed ones),
// log y, the x axis (step, relative or wall time, or another metric), zoom and pan (the
// chart stops following the data until reset). The hover is our own: a vertical rule and a
// list of each run's value at that x, as text (never markup), the nearest run first.
//
// Hooks for tests and users' tooling: the card has `data-metric` and `data-lines` (lines
// drawn), `data-points` (the points, or envelope buckets, those lines hold) and `data-whole`
// ("true" once what is in view is every point, not an envelope).

import type { BokehNS } from "../bokeh-loader";
import { formatValue } from "../format";
import { extent, reduceMinMax } from "../reduce";
import { smooth } from "../smoothing";
import { TIME_KEY } from "../series-store";
import type { XMode } from "../x-axis";
import { xLabel } from "../x-axis";
import { fitRanges, lineFigure } from "../charts/figure";
import type { Curve, Points } from "./curve";

/** One line of the chart: a run, or a group of runs drawn as their mean and band. */
export interface OverlayLine {
  id: string;
  label: string;
  color: string;
  /** The runs it stands for (one, unless a group). */
  runs: string[];
}

export interface OverlayContext {
  lines(): OverlayLine[];
  curve(run: string, key: string): Curve | undefined;
  /** The run's start, Unix seconds (for relative time). */
  t0(run: string): number;
  smoothing(): number;
  xMode: XMode;
  /** The visible step range of a zoomed chart is coarser than its pixels: fetch it whole. */
  wantRange(key: string, runs: string[], start: number, end: number, columns: number): void;
  onHover(run: string | null): void;
}

const HOVER_ROWS = 12;
/** The least time between two redraws for new data (see `schedule`). */
const DATA_REDRAW_MS = 250;

export class OverlayChart {
  readonly plotEl: HTMLElement;
  private readonly tip: HTMLElement;
  private readonly plot: BokehNS;
  private view: BokehNS = null;
  private readonly raw: BokehNS;
  private readonly smooth: BokehNS;
  private readonly bands: BokehNS;
  private readonly rawRenderer: BokehNS;
  private readonly smoothRenderer: BokehNS;
  private readonly rule: BokehNS;
  private following = true;
  private ownChange = false;
  private frame = 0;
  private destroyed = false;
  private highlighted: string | null = null;
  private drawnIds: string[] = [];
  private rangeTimer = 0;
  private throttle = 0;
  private guessedWidth: number | undefined;
  private drawnColumns = 0;
  private lastDraw = -Infinity;
  private visible = true;
  private stale = false;
  private pendingHighlight: string | null | undefined = undefined;
  private hlFrame = 0;
  private readonly hl: BokehNS;
  /** What the last draw gave each line (its id's index in `drawnIds`): for the highlight. */
  private drawn: { xs: number[][]; ys: number[][]; colors: string[] } = { xs: [], ys: [], colors: [] };
  private readonly emaCache = new WeakMap<Curve, { version: number; weight: number; y: Float64Array }>();
  readonly settled: Promise<void>;

  constructor(
    private readonly Bokeh: BokehNS,
    readonly host: HTMLElement,
    readonly key: string,
    private readonly logY: boolean,
    private readonly ctx: OverlayContext,
  ) {
    const B = Bokeh;
    this.plotEl = document.createElement("div");
    this.plotEl.className = "nbt-plot";
    this.tip = document.createElement("div");
    this.tip.className = "nbt-tip";
    this.tip.hidden = true;
    host.append(this.plotEl, this.tip);
    const mode = ctx.xMode;
    const p = lineFigure(B, mode, logY);
    const x_range = p.x_range;
    const y_range = p.y_range;
    const empty = (): BokehNS => new B.ColumnDataSource({ data: { xs: [], ys: [], color: [], alpha: [], width: [] } });
    this.bands = new B.ColumnDataSource({ data: { xs: [], ys: [], color: [] } });
    p.patches({
      xs: { field: "xs" }, ys: { field: "ys" }, source: this.bands,
      fill_color: { field: "color" }, fill_alpha: 0.16, line_alpha: 0,
    }); // prettier-ignore
    this.raw = empty();
    this.smooth = empty();
    this.rawRenderer = p.multi_line({
      xs: { field: "xs" }, ys: { field: "ys" }, source: this.raw,
      line_color: { field: "color" }, line_alpha: { field: "alpha" }, line_width: { field: "width" },
    }); // prettier-ignore
    this.smoothRenderer = p.multi_line({
      xs: { field: "xs" }, ys: { field: "ys" }, source: this.smooth,
      line_color: { field: "color" }, line_alpha: { field: "alpha" }, line_width: { field: "width" },
    }); // prettier-ignore
    this.smoothRenderer.visible = false;
    // The highlighted run (hovered here, in the table or the parallel coordinates): its line
    // again on top, thicker; the others fade. Only this one-line source changes on a hover.
    this.hl = new B.ColumnDataSource({ data: { xs: [], ys: [], color: [] } });
    p.multi_line({
      xs: { field: "xs" }, ys: { field: "ys" }, source: this.hl,
      line_color: { field: "color" }, line_alpha: 1, line_width: 3,
    }); // prettier-ignore
    this.rule = new B.Span({ location: 0, dimension: "height", line_color: "#94a3b8", line_dash: [4, 3], visible: false });
    p.add_layout(this.rule);
    p.on_event("mousemove", (ev: BokehNS) => this.onMove(ev));
    p.on_event("mouseleave", () => this.hideTip());
    const onRange = (): void => {
      if (this.ownChange) return;
      this.following = false;
      this.hideTip();
      this.schedule(true);
      this.askWhole();
    };
    x_range.connect(x_range.change, onRange);
    y_range.connect(y_range.change, () => {
      if (!this.ownChange) this.following = false;
    });
    p.on_event("reset", () => {
      this.following = true;
      this.schedule(true);
    });
    this.plot = p;
    this.draw();
    let settle: () => void = () => undefined;
    this.settled = new Promise((r) => (settle = r));
    void B.Plotting.show(p, this.plotEl).then(
      (v: BokehNS) => {
        if (this.destroyed) {
          v.remove();
          settle();
          return;
        }
        this.view = v;
        // Drawn again only if its frame is much wider or narrower than the guess it was
        // drawn for (a redraw of hundreds of lines is what a chart's build costs most).
        const cols = this.columns();
        if (Math.abs(cols - this.drawnColumns) > 0.15 * cols || this.stale) this.draw();
        requestAnimationFrame(() => window.setTimeout(settle, 0));
      },
      () => settle(),
    );
  }

  /** The Bokeh plot model (for tests and users' own tooling). */
  get plotModel(): BokehNS {
    return this.plot;
  }

  /**
   * Draw again. `soon`: on the next frame (a person's gesture: zoom, smoothing, rows). Else
   * (new data) at most every `DATA_REDRAW_MS`: a project's curves come in many messages and
   * live points ten times a second, and a redraw of hundreds of lines is not free. A chart far
   * off screen draws once it comes near (`setVisible`).
   */
  schedule(soon = false): void {
    if (this.destroyed) return;
    if (!this.visible) {
      this.stale = true;
      return;
    }
    if (this.frame) return;
    const wait = soon ? 0 : this.lastDraw + DATA_REDRAW_MS - performance.now();
    if (wait > 0) {
      if (!this.throttle) {
        this.throttle = window.setTimeout(() => {
          this.throttle = 0;
          this.schedule(true);
        }, wait);
      }
      return;
    }
    window.clearTimeout(this.throttle);
    this.throttle = 0;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  /** Near the viewport or not; a chart that is not skips its redraws until it is again. */
  setVisible(visible: boolean): void {
    if (visible === this.visible) return;
    this.visible = visible;
    if (visible && this.stale) {
      this.stale = false;
      this.schedule(true);
    }
  }

  /** Show `run`'s line on top (null: none), on the next frame. */
  highlight(run: string | null): void {
    this.pendingHighlight = run;
    if (this.hlFrame || this.destroyed) return;
    this.hlFrame = requestAnimationFrame(() => {
      this.hlFrame = 0;
      const next = this.pendingHighlight;
      this.pendingHighlight = undefined;
      if (next !== undefined) this.applyHighlight(next);
    });
  }

  private applyHighlight(run: string | null): void {
    this.highlighted = run;
    const i = run === null ? -1 : this.drawnIds.indexOf(run);
    const on = i >= 0;
    this.hl.data = on
      ? { xs: [this.drawn.xs[i]], ys: [this.drawn.ys[i]], color: [this.drawn.colors[i]] }
      : { xs: [], ys: [], color: [] };
    const renderer = this.smoothRenderer.visible ? this.smoothRenderer : this.rawRenderer;
    for (const r of [this.rawRenderer, this.smoothRenderer]) {
      r.glyph.line_alpha = on ? (r === renderer ? 0.25 : 0.08) : { field: "alpha" };
    }
  }

  /** The plot frame's width in pixels: Bokeh's, once it has laid the chart out. Before
   *  that, the card's width less the axis, read once (reading layout in every draw would
   *  make the browser lay the page out again for each chart). */
  private columns(): number {
    const w = this.view?.frame?.bbox?.width;
    if (w) return Math.max(50, Math.round(w));
    this.guessedWidth ??= this.plotEl.clientWidth - 56;
    return Math.max(50, Math.round(this.guessedWidth > 0 ? this.guessedWidth : 600));
  }

  /** x of each point of `pts` under the chart's x axis (its own steps for "step"). */
  private xOf(run: string, pts: Points): Float64Array {
    const mode = this.ctx.xMode;
    const steps = pts.x.subarray(0, pts.length);
    if (mode === "step") return steps;
    const srcKey = mode === "relative" || mode === "wall" ? TIME_KEY : mode;
    const src = this.ctx.curve(run, srcKey)?.line;
    const out = new Float64Array(pts.length);
    const t0 = this.ctx.t0(run);
    for (let i = 0; i < pts.length; i++) {
      const v = src ? src.valueAt(steps[i] as number) : NaN;
      out[i] = mode === "relative" ? v - t0 : mode === "wall" ? v * 1000 : v;
    }
    return out;
  }

  private smoothed(c: Curve, weight: number): Float64Array {
    const got = this.emaCache.get(c);
    if (got && got.version === c.version && got.weight === weight) return got.y;
    const y = smooth(c.line.y.subarray(0, c.line.length), weight);
    this.emaCache.set(c, { version: c.version, weight, y });
    return y;
  }

  private draw(): void {
    if (this.destroyed) return;
    this.lastDraw = performance.now();
    this.stale = false;
    const lines = this.ctx.lines();
    const columns = this.columns();
    this.drawnColumns = columns;
    const weight = this.ctx.smoothing();
    const logY = this.logY;
    type Prepared = { line: OverlayLine; curves: { run: string; c: Curve; x: Float64Array; lx: Float64Array }[] };
    const prepared: Prepared[] = [];
    let lo = Infinity;
    let hi = -Infinity;
    for (const line of lines) {
      const curves = [];
      for (const run of line.runs) {
        const c = this.ctx.curve(run, this.key);
        if (!c || !c.draw.length) continue;
        const x = this.xOf(run, c.draw);
        const lx = this.ctx.xMode === "step" ? c.line.x.subarray(0, c.line.length) : this.xOf(run, c.line);
        for (const v of [x[0], x[x.length - 1]]) {
          if (v !== undefined && Number.isFinite(v)) {
            if (v < lo) lo = v;
            if (v > hi) hi = v;
          }
        }
        curves.push({ run, c, x, lx });
      }
      if (curves.length) prepared.push({ line, curves });
    }
    let x0: number = this.plot.x_range.start;
    let x1: number = this.plot.x_range.end;
    if (this.following && lo <= hi) {
      x0 = lo === hi ? lo - 1 : lo;
      x1 = lo === hi ? hi + 1 : hi;
    }
    const raw = { xs: [] as number[][], ys: [] as number[][], color: [] as string[], alpha: [] as number[], width: [] as number[] };
    const sm = { xs: [] as number[][], ys: [] as number[][], color: [] as string[], alpha: [] as number[], width: [] as number[] };
    const bands = { xs: [] as number[][], ys: [] as number[][], color: [] as string[] };
    const ids: string[] = [];
    const shown: number[][] = [];
    const rawAlpha = weight > 0 ? 0.22 : 0.9;
    for (const { line, curves } of prepared) {
      ids.push(line.id);
      const width = 1.5;
      if (line.runs.length === 1 && curves.length === 1) {
        const { c, x, lx } = curves[0] as Prepared["curves"][number];
        const r = reduceMinMax(x, c.draw.y, c.draw.length, x0, x1, columns, { sorted: isSorted(x), logY });
        raw.xs.push(r.x);
        raw.ys.push(r.y);
        shown.push(r.y);
        if (weight > 0) {
          const s = reduceMinMax(lx, this.smoothed(c, weight), c.line.length, x0, x1, columns, { sorted: isSorted(lx), logY });
          sm.xs.push(s.x);
          sm.ys.push(s.y);
        }
      } else {
        const g = groupEnvelope(curves.map((k) => ({ x: k.lx, y: weight > 0 ? this.smoothed(k.c, weight) : k.c.line.y, n: k.c.line.length })), x0, x1, Math.min(columns, 400), logY);
        raw.xs.push(g.x);
        raw.ys.push(g.mean);
        shown.push(g.lo, g.hi);
        bands.xs.push(g.bandX);
        bands.ys.push(g.bandY);
        bands.color.push(line.color);
        if (weight > 0) {
          sm.xs.push(g.x);
          sm.ys.push(g.mean);
        }
      }
      raw.color.push(line.color);
      raw.alpha.push(line.runs.length > 1 ? 0.95 : rawAlpha);
      raw.width.push(line.runs.length > 1 ? 2 : width);
      if (weight > 0) {
        sm.color.push(line.color);
        sm.alpha.push(0.95);
        sm.width.push(width);
      }
    }
    // Grouped lines are already smoothed means: the raw renderer draws them.
    this.drawnIds = ids;
    const top = weight > 0 && sm.xs.length === raw.xs.length ? sm : raw;
    this.drawn = { xs: top.xs, ys: top.ys, colors: raw.color };
    this.raw.data = raw;
    this.smooth.data = weight > 0 && prepared.some((p) => p.line.runs.length === 1) ? sm : { xs: [], ys: [], color: [], alpha: [], width: [] };
    this.smoothRenderer.visible = weight > 0;
    this.bands.data = bands;
    if (this.highlighted !== null) this.applyHighlight(this.highlighted);
    const card = this.host.closest<HTMLElement>(".nbtrack-chart") ?? this.host;
    card.dataset.lines = String(prepared.length);
    card.dataset.points = String(prepared.reduce((n, p) => n + p.curves.reduce((m, k) => m + k.c.line.length, 0), 0));
    card.dataset.whole = String(prepared.every((p) => p.curves.every((k) => k.c.isWhole(x0, x1))));
    if (this.following) {
      this.ownChange = true;
      try {
        fitRanges(this.plot, x0, x1, shown, logY);
      } finally {
        this.ownChange = false;
      }
    }
  }

  /** After a zoom settles: the runs whose points in view are an envelope, fetched whole. */
  private askWhole(): void {
    window.clearTimeout(this.rangeTimer);
    this.rangeTimer = window.setTimeout(() => {
      if (this.destroyed || this.following || this.ctx.xMode !== "step") return;
      const x0 = Math.floor(this.plot.x_range.start);
      const end = Math.ceil(this.plot.x_range.end);
      const curves = this.ctx
        .lines()
        .flatMap((l) => l.runs)
        .map((r) => this.ctx.curve(r, this.key))
        .filter((c): c is Curve => c !== undefined && !c.isWhole(x0, end));
      if (!curves.length) return;
      // From where every bucket that reaches into the view begins (see Curve.coverFrom).
      const start = Math.min(...curves.map((c) => c.coverFrom(x0)));
      this.ctx.wantRange(this.key, curves.map((c) => c.run), start, end, this.columns());
    }, 250);
  }

  private onMove(ev: BokehNS): void {
    const x = ev?.x;
    if (typeof x !== "number" || !Number.isFinite(x)) return;
    const rows: { label: string; color: string; value: number; run: string }[] = [];
    for (const line of this.ctx.lines()) {
      const vals: number[] = [];
      for (const run of line.runs) {
        const c = this.ctx.curve(run, this.key);
        if (!c || !c.line.length) continue;
        const v = this.valueAtX(run, c, x);
        if (Number.isFinite(v)) vals.push(v);
      }
      if (!vals.length) continue;
      const value = vals.reduce((a, b) => a + b, 0) / vals.length;
      rows.push({ label: line.label, color: line.color, value, run: line.runs.length === 1 ? (line.runs[0] as string) : "" });
    }
    if (!rows.length) {
      this.hideTip();
      return;
    }
    const y = typeof ev.y === "number" ? ev.y : 0;
    rows.sort((a, b) => Math.abs(a.value - y) - Math.abs(b.value - y));
    const nearest = rows[0];
    this.ctx.onHover(nearest && nearest.run ? nearest.run : null);
    const mode = this.ctx.xMode;
    const head = document.createElement("div");
    head.className = "nbt-tip-x";
    head.textContent = `${xLabel(mode)} ${mode === "wall" ? new Date(x).toISOString().replace("T", " ").slice(0, 19) : formatValue(Math.round(x * 1000) / 1000)}`;
    const items = rows.slice(0, HOVER_ROWS).map((r) => {
      const d = document.createElement("div");
      d.className = "nbt-tip-row";
      const sw = document.createElement("span");
      sw.className = "nbt-swatch";
      sw.style.background = r.color;
      const name = document.createElement("span");
      name.className = "nbt-tip-name";
      name.textContent = r.label;
      const val = document.createElement("span");
      val.className = "nbt-tip-value";
      val.textContent = formatValue(r.value);
      d.append(sw, name, val);
      return d;
    });
    if (rows.length > HOVER_ROWS) {
      const more = document.createElement("div");
      more.className = "nbt-tip-more";
      more.textContent = `and ${rows.length - HOVER_ROWS} more`;
      items.push(more);
    }
    this.tip.replaceChildren(head, ...items);
    this.tip.hidden = false;
    const sx = typeof ev.sx === "number" ? ev.sx : 0;
    const w = this.plotEl.clientWidth;
    this.tip.style.left = `${sx > w / 2 ? Math.max(0, sx - 230) : sx + 16}px`;
    this.tip.style.top = "34px";
    this.rule.location = x;
    this.rule.visible = true;
  }

  private valueAtX(run: string, c: Curve, x: number): number {
    if (this.ctx.xMode === "step") return c.line.valueAt(x);
    const lx = this.xOf(run, c.line);
    let best = NaN;
    for (let i = 0; i < lx.length; i++) {
      if ((lx[i] as number) <= x) best = c.line.y[i] as number;
      else break;
    }
    return best;
  }

  private hideTip(): void {
    this.tip.hidden = true;
    this.rule.visible = false;
    this.ctx.onHover(null);
  }

  destroy(): void {
    this.destroyed = true;
    window.clearTimeout(this.rangeTimer);
    window.clearTimeout(this.throttle);
    if (this.frame) cancelAnimationFrame(this.frame);
    if (this.hlFrame) cancelAnimationFrame(this.hlFrame);
    this.view?.remove();
    this.plotEl.remove();
    this.tip.remove();
  }
}

function isSorted(x: ArrayLike<number>): boolean {
  for (let i = 1; i < x.length; i++) if ((x[i] as number) < (x[i - 1] as number)) return false;
  return true;
}

export interface GroupEnvelope {
  x: number[];
  mean: number[];
  lo: number[];
  hi: number[];
  /** The min-max band as one polygon: the max forward, the min back. */
  bandX: number[];
  bandY: number[];
}

/**
 * A group's mean and min-max band over [x0, x1] in `columns` bins: each member's value at a
 * bin's end (its last point at or before it), then their mean, min and max.
 *
 * Example: two members y=1 and y=3 over the same x give mean 2, band [1, 3].
 */
export function groupEnvelope(
  members: { x: ArrayLike<number>; y: ArrayLike<number>; n: number }[],
  x0: number,
  x1: number,
  columns: number,
  logY = false,
): GroupEnvelope {
  const out: GroupEnvelope = { x: [], mean: [], lo: [], hi: [], bandX: [], bandY: [] };
  if (!(x1 > x0) || !members.length) return out;
  const cursors = members.map(() => 0);
  const firsts = members.map((m) => (m.n ? (m.x[0] as number) : Infinity));
  const lasts = members.map((m) => (m.n ? (m.x[m.n - 1] as number) : -Infinity));
  for (let b = 0; b <= columns; b++) {
    const at = x0 + ((x1 - x0) * b) / columns;
    let sum = 0;
    let k = 0;
    let lo = Infinity;
    let hi = -Infinity;
    members.forEach((m, i) => {
      // Only where the member has points: a short run does not drag the mean past its end.
      if (at < (firsts[i] as number) || at > (lasts[i] as number)) return;
      let j = cursors[i] as number;
      while (j < m.n && (m.x[j] as number) <= at) j++;
      cursors[i] = j;
      const v = j > 0 ? (m.y[j - 1] as number) : NaN;
      if (!Number.isFinite(v) || (logY && v <= 0)) return;
      sum += v;
      k++;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    });
    if (!k) continue;
    out.x.push(at);
    out.mean.push(sum / k);
    out.lo.push(lo);
    out.hi.push(hi);
  }
  out.bandX = [...out.x, ...out.x.slice().reverse()];
  out.bandY = [...out.hi, ...out.lo.slice().reverse()];
  return out;
}
