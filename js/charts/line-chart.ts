// One chart: the lines of one metric (or several, when merged) drawn by BokehJS.
//
// Bokeh gets only the reduced points of the visible range (about two per pixel column),
// at most once per animation frame; pan and zoom re-reduce from the full series kept in
// the run state. While nobody has zoomed or panned, the chart follows the data: x spans
// all of it and y fits what is visible. Reset (Bokeh's reset tool) goes back to following.
//
// A repaint is kept cheap while the chart is dragged or zoomed: a wide range is reduced from
// a min/max pyramid per series (O(pixels), not O(points)), the smoothed line's renderer is
// only visible when there is smoothing (Bokeh skips invisible renderers), and the hover
// tool rests during the gesture (otherwise it re-inspects and re-places its tooltip on every
// repaint, which restyles the page) and comes back where the pointer stops.
//
// A chart far off screen (see `setVisible`) does not redraw: new points only mark it stale,
// and it draws everything it missed, from the run state, once it comes near the viewport.

import type { BokehNS } from "../bokeh-loader";
import { MinMaxPyramid } from "../minmax-pyramid";
import { extent, isolatedPoints, reduceMinMax } from "../reduce";
import type { Ema } from "../smoothing";
import type { Series, SeriesStore } from "../series-store";
import type { XColumn, XMode } from "../x-axis";
import { xLabel } from "../x-axis";
import { fitRanges, lineFigure } from "./figure";

export const PALETTE = [
  "#2563eb", "#ea580c", "#059669", "#dc2626", "#7c3aed", "#ca8a04", "#0891b2", "#db2777",
];

export interface ChartContext {
  store: SeriesStore;
  xColumn(key: string): XColumn;
  ema(key: string): Ema | null;
  xMode: XMode;
}

// One pyramid per series and per EMA, shared by every chart that draws it; an EMA replaced
// (new smoothing weight) or a series dropped takes its pyramid with it.
const pyramids = new WeakMap<Series | Ema, MinMaxPyramid>();

function pyramidOf(owner: Series | Ema): MinMaxPyramid {
  let p = pyramids.get(owner);
  if (!p) {
    p = new MinMaxPyramid();
    pyramids.set(owner, p);
  }
  return p;
}

// How long after the last range change of a wheel zoom (which has no end event) the hover
// tool comes back.
const HOVER_REST_MS = 200;

interface Line {
  key: string;
  raw: BokehNS; // ColumnDataSource
  smooth: BokehNS;
  marks: BokehNS; // points no segment touches (see isolatedPoints)
  rawRenderer: BokehNS;
  smoothRenderer: BokehNS;
  marksRenderer: BokehNS;
}

export interface LineChartOptions {
  id: string;
  keys: string[];
  logY: boolean;
  hidden: Set<string>;
  onHiddenChange(key: string, hidden: boolean): void;
}

export class LineChart {
  readonly plotEl: HTMLElement;
  private plot: BokehNS;
  private view: BokehNS = null;
  private lines: Line[] = [];
  private following = true;
  private ownChange = false;
  private frame = 0;
  private destroyed = false;
  private hover: BokehNS = null;
  private hoverResting = false; // we switched the hover tool off for a gesture
  private panning = false;
  private hoverTimer = 0;
  private visible: boolean;
  private stale = false; // a redraw was asked for while far off screen
  private drawnColumns = 0; // pixel columns the last draw() reduced to
  private settle: () => void = () => undefined;
  /**
   * Resolves once the chart has painted for the first time (its views built, its points
   * drawn), or once it is known not to (off screen, destroyed, Bokeh failed). The dashboard
   * waits on it before it builds the next chart.
   */
  readonly settled: Promise<void>;

  constructor(
    private readonly Bokeh: BokehNS,
    readonly host: HTMLElement,
    readonly opts: LineChartOptions,
    private readonly ctx: ChartContext,
    visible = true,
  ) {
    this.visible = visible;
    this.settled = new Promise((resolve) => {
      this.settle = resolve;
    });
    this.plotEl = document.createElement("div");
    this.plotEl.className = "nbt-plot";
    host.append(this.plotEl);
    this.plot = this.build();
    // The points go in before the views are built, so Bokeh's first paint holds them (it
    // would otherwise paint the chart empty, then again a frame later with the points).
    if (visible) this.draw();
    else this.stale = true;
    void Bokeh.Plotting.show(this.plot, this.plotEl).then(
      (v: BokehNS) => {
        if (this.destroyed) {
          v.remove();
          this.settle();
          return;
        }
        this.view = v;
        // show() resolves once Bokeh has painted (in an animation frame callback: the task
        // after it is past the frame). Drawn again only if it drew fewer pixel columns than
        // its frame has (its width was not known yet), or missed points while far away.
        const columns = Math.round(v.frame?.bbox?.width ?? 0);
        if (this.visible && (this.drawnColumns < columns || this.stale)) {
          this.stale = false;
          this.draw();
          // Bokeh paints on the next animation frame.
          requestAnimationFrame(() => window.setTimeout(this.settle, 0));
        } else {
          window.setTimeout(this.settle, 0);
        }
      },
      (err: unknown) => {
        this.settle();
        throw err;
      },
    );
  }

  /**
   * Near the viewport or not. A chart that is not skips its redraws (no reduction, no
   * repaint) and catches up when it is again.
   */
  setVisible(visible: boolean): void {
    if (this.visible === visible) return;
    this.visible = visible;
    if (visible && this.stale) this.schedule();
  }

  private build(): BokehNS {
    const B = this.Bokeh;
    const { keys, logY } = this.opts;
    const mode = this.ctx.xMode;
    const p = lineFigure(B, mode, logY);
    const x_range = p.x_range;
    const y_range = p.y_range;

    keys.forEach((key, i) => {
      const color = PALETTE[i % PALETTE.length] as string;
      const raw = new B.ColumnDataSource({ data: { x: [], y: [] } });
      const smooth = new B.ColumnDataSource({ data: { x: [], y: [] } });
      const label = keys.length > 1 ? { legend_label: key } : {};
      const rawRenderer = p.line({
        x: { field: "x" }, y: { field: "y" }, source: raw, line_color: color, line_width: 1.5,
        name: key, ...label,
      });
      // Not in the legend: the legend hides the raw line, and the smoothed one follows it
      // (and stays invisible, so unpainted, while there is no smoothing).
      const smoothRenderer = p.line({
        x: { field: "x" }, y: { field: "y" }, source: smooth, line_color: color, line_width: 2,
        name: key,
      });
      // A line glyph draws nothing for a lone point (a metric logged once, a point between
      // gaps): those get a marker. Empty, so unpainted, for every other line.
      const marks = new B.ColumnDataSource({ data: { x: [], y: [] } });
      const marksRenderer = p.scatter({
        x: { field: "x" }, y: { field: "y" }, source: marks, marker: "circle", size: 7,
        fill_color: color, line_color: color, name: key,
      });
      const hidden = this.opts.hidden.has(key);
      rawRenderer.visible = !hidden;
      marksRenderer.visible = !hidden;
      smoothRenderer.visible = false;
      rawRenderer.connect(rawRenderer.properties.visible.change, () => {
        smoothRenderer.visible = rawRenderer.visible && this.ctx.ema(key) !== null;
        marksRenderer.visible = rawRenderer.visible;
        this.opts.onHiddenChange(key, !rawRenderer.visible);
      });
      this.lines.push({ key, raw, smooth, marks, rawRenderer, smoothRenderer, marksRenderer });
    });
    if (keys.length > 1) {
      p.legend.click_policy = "hide";
      p.legend.location = "top_right";
      p.legend.label_text_font_size = "11px";
      p.legend.background_fill_alpha = 0.7;
      p.legend.border_line_color = null;
      p.legend.spacing = 0;
      p.legend.padding = 4;
      p.legend.glyph_width = 16;
    }
    const xfmt = mode === "wall" ? "@x{%F %T}" : "@x{0,0.[000]}";
    this.hover = new B.HoverTool({
      renderers: this.lines.flatMap((l) => [l.rawRenderer, l.marksRenderer]),
      tooltips: [["", "$name"], [xLabel(mode), xfmt], ["value", "@y{0.[000000]}"]],
      formatters: mode === "wall" ? { "@x": "datetime" } : {},
      mode: "vline",
      line_policy: "nearest",
    });
    p.add_tools(this.hover);
    p.on_event("panstart", () => {
      this.panning = true;
      this.restHover();
    });
    p.on_event("panend", (ev: BokehNS) => {
      this.panning = false;
      this.wakeHover(ev?.sx, ev?.sy);
    });
    const onRange = (): void => {
      if (this.ownChange) return;
      this.following = false;
      // A wheel zoom has no end event: the hover tool comes back once the range rests.
      this.restHover();
      if (!this.panning) {
        window.clearTimeout(this.hoverTimer);
        this.hoverTimer = window.setTimeout(() => this.wakeHover(), HOVER_REST_MS);
      }
      this.schedule();
    };
    x_range.connect(x_range.change, onRange);
    y_range.connect(y_range.change, () => {
      if (!this.ownChange) this.following = false;
    });
    p.on_event("reset", () => {
      this.following = true;
      this.schedule();
    });
    return p;
  }

  /** Switch the hover tool off for a gesture, unless someone else already has. */
  private restHover(): void {
    const h = this.hover;
    if (!h || this.hoverResting || !h.active) return;
    this.hoverResting = true;
    h.active = false;
    // Bokeh keeps the last tooltip up and re-inspects there on each repaint once active
    // again: drop both (the view's own pointer-left handler does exactly that).
    this.hoverView()?._move_exit?.();
  }

  /** Give the hover tool back after a gesture; show its tooltip where the pointer rests. */
  private wakeHover(sx?: number, sy?: number): void {
    window.clearTimeout(this.hoverTimer);
    this.hoverTimer = 0;
    if (!this.hoverResting || this.destroyed) return;
    this.hoverResting = false;
    this.hover.active = true;
    if (typeof sx === "number" && typeof sy === "number") this.hoverView()?._move?.({ sx, sy });
  }

  private hoverView(): BokehNS {
    return this.view?.tool_views?.get?.(this.hover) ?? null;
  }

  /** Redraw on the next animation frame (many calls in one frame draw once); when far off
   *  screen, once it comes near. */
  schedule(): void {
    if (this.frame || this.destroyed) return;
    if (!this.visible) {
      this.stale = true;
      return;
    }
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      if (!this.visible) {
        this.stale = true;
        return;
      }
      this.stale = false;
      this.draw();
    });
  }

  /** The Bokeh plot model (for tests and users' own tooling). */
  get plotModel(): BokehNS {
    return this.plot;
  }

  /** Bokeh's data sources of this chart (for tests): per key, the raw and smoothed line
   *  and the markers of lone points. */
  sources(): { key: string; raw: BokehNS; smooth: BokehNS; marks: BokehNS }[] {
    return this.lines.map((l) => ({ key: l.key, raw: l.raw, smooth: l.smooth, marks: l.marks }));
  }

  /**
   * Hand Bokeh the reduced points of what is in view (before the view is built too: then
   * for the plot's whole width, a little more than its frame). True: it handed them.
   */
  private draw(): boolean {
    if (this.destroyed) return false;
    const logY = this.opts.logY;
    const frameWidth = this.view?.frame?.bbox?.width ?? this.plotEl.clientWidth;
    const columns = Math.max(50, Math.round(frameWidth || 600));
    this.drawnColumns = columns;
    const cols = this.lines.map((l) => {
      const series = this.ctx.store.series.get(l.key);
      const xc = this.ctx.xColumn(l.key);
      const x = series ? xc.update() : new Float64Array(0);
      const n = series ? series.length : 0;
      return { l, series, xc, x, n };
    });

    let x0: number = this.plot.x_range.start;
    let x1: number = this.plot.x_range.end;
    if (this.following) {
      let lo = Infinity;
      let hi = -Infinity;
      for (const c of cols) {
        if (!c.n) continue;
        if (c.xc.sorted) {
          const a = firstFinite(c.x, c.n, 1);
          const b = firstFinite(c.x, c.n, -1);
          if (a < lo) lo = a;
          if (b > hi) hi = b;
        } else {
          for (let i = 0; i < c.n; i++) {
            const v = c.x[i] as number;
            if (v < lo) lo = v;
            if (v > hi) hi = v;
          }
        }
      }
      if (lo <= hi) {
        if (lo === hi) {
          lo -= 1;
          hi += 1;
        }
        x0 = lo;
        x1 = hi;
      }
    }

    const shown: number[][] = [];
    for (const c of cols) {
      const { l, series, xc, x, n } = c;
      if (!series || !n) continue;
      const ema = this.ctx.ema(l.key);
      const opts = { sorted: xc.sorted, xFinite: xc.finite, logY };
      const raw = reduceMinMax(x, series.values, n, x0, x1, columns, {
        ...opts,
        pyramid: pyramidOf(series),
      });
      let smooth = { x: [] as number[], y: [] as number[] };
      if (ema) {
        const sv = ema.update(series.values, n);
        smooth = reduceMinMax(x, sv, n, x0, x1, columns, { ...opts, pyramid: pyramidOf(ema) });
      }
      l.raw.data = { x: raw.x, y: raw.y };
      const lone = isolatedPoints(raw);
      if (lone.x.length || l.marks.data.x.length) l.marks.data = { x: lone.x, y: lone.y };
      if (ema || l.smooth.data.x.length) l.smooth.data = { x: smooth.x, y: smooth.y };
      const smoothShown = ema !== null && l.rawRenderer.visible;
      if (l.smoothRenderer.visible !== smoothShown) l.smoothRenderer.visible = smoothShown;
      const alpha = ema ? 0.22 : 1;
      if (l.rawRenderer.glyph.line_alpha !== alpha) l.rawRenderer.glyph.line_alpha = alpha;
      if (l.rawRenderer.visible) shown.push(ema ? smooth.y : raw.y, raw.y);
    }

    if (this.following) {
      this.ownChange = true;
      try {
        fitRanges(this.plot, x0, x1, shown, logY);
      } finally {
        this.ownChange = false;
      }
    }
    return true;
  }

  destroy(): void {
    this.destroyed = true;
    this.settle();
    window.clearTimeout(this.hoverTimer);
    if (this.frame) cancelAnimationFrame(this.frame);
    this.view?.remove();
    this.plotEl.remove();
  }
}

function firstFinite(x: Float64Array, n: number, dir: 1 | -1): number {
  if (dir === 1) {
    for (let i = 0; i < n; i++) if (Number.isFinite(x[i] as number)) return x[i] as number;
  } else {
    for (let i = n - 1; i >= 0; i--) if (Number.isFinite(x[i] as number)) return x[i] as number;
  }
  return NaN;
}
