// One plot key's panel (`wandb.plot.*`): drawn with BokehJS from the plot's table and
// fields (media-contract "Stored payload"): lines or circles, one colour a series with a
// legend; bars; a histogram of 20 bins computed here; a confusion matrix as a heat map
// (rect glyphs, the counts as text, the classes on both axes). A step select when the key
// has several entries. What is drawn is prepared by the DOM-free functions below (tested in
// Node); the panel only hands it to Bokeh.

import type { BokehNS } from "../bokeh-loader";
import { styleFigure } from "../charts/figure";
import { PALETTE } from "../charts/line-chart";
import type { Cell, MediaEntry, PlotPayload, TablePayload } from "../protocol";
import { panelEl, titleEl } from "./image-panel";
import type { KeyMedia } from "./store";
import { cellText, StepSelect } from "./table-panel";

export const HIST_BINS = 20;
const HEIGHT = 260;

function column(t: TablePayload, name: string | null | undefined): number {
  return name ? t.columns.indexOf(name) : -1;
}

function numberOf(c: Cell | undefined): number {
  if (typeof c === "number") return c;
  if (typeof c === "boolean") return c ? 1 : 0;
  if (typeof c === "string" && c.trim() !== "") return Number(c);
  return NaN;
}

export interface XYSeries {
  name: string;
  xs: number[];
  ys: number[];
}

/**
 * The series of an x/y plot (line, scatter, line_series, pr_curve, roc_curve): the rows
 * grouped by the series column (one series when there is none), in first-seen order, rows
 * whose x or y is not a finite number left out.
 *
 * Example: columns [x, y, c], rows [[0, 1, "a"], [0, 2, "b"], [1, 3, "a"]] give series a
 * (xs [0, 1], ys [1, 3]) and b (xs [0], ys [2]).
 */
export function xySeries(p: PlotPayload): XYSeries[] {
  const t = p.table;
  const xi = column(t, p.fields.x);
  const yi = column(t, p.fields.y);
  const si = column(t, p.fields.series);
  if (xi < 0 || yi < 0) return [];
  const out = new Map<string, XYSeries>();
  for (const row of t.data) {
    const x = numberOf(row[xi]);
    const y = numberOf(row[yi]);
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    const name = si >= 0 ? cellText(row[si] ?? null) : (p.fields.y ?? "");
    let s = out.get(name);
    if (!s) out.set(name, (s = { name, xs: [], ys: [] }));
    s.xs.push(x);
    s.ys.push(y);
  }
  return [...out.values()];
}

/** Bars: a label and a value a row (labels made unique: a category axis needs that). */
export function barData(p: PlotPayload): { labels: string[]; values: number[] } {
  const t = p.table;
  const li = column(t, p.fields.label);
  const vi = column(t, p.fields.value);
  const labels: string[] = [];
  const values: number[] = [];
  if (li < 0 || vi < 0) return { labels, values };
  const seen = new Map<string, number>();
  for (const row of t.data) {
    const v = numberOf(row[vi]);
    if (!Number.isFinite(v)) continue;
    let label = cellText(row[li] ?? null);
    const n = seen.get(label) ?? 0;
    seen.set(label, n + 1);
    if (n) label = `${label} (${n + 1})`;
    labels.push(label);
    values.push(v);
  }
  return { labels, values };
}

export interface Bins {
  left: number[];
  right: number[];
  counts: number[];
}

/**
 * `bins` equal bins over the finite values' range (the last bin holds the maximum); a range
 * of one value gets a bin of width 1 around it; no finite value, no bins.
 *
 * Example: `histogramBins([0, 1, 2, 3], 2)` is left [0, 1.5], right [1.5, 3], counts [2, 2].
 */
export function histogramBins(values: readonly number[], bins = HIST_BINS): Bins {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!(hi >= lo)) return { left: [], right: [], counts: [] };
  if (hi === lo) return { left: [lo - 0.5], right: [lo + 0.5], counts: [values.filter((v) => v === lo).length] };
  const width = (hi - lo) / bins;
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    const b = Math.min(bins - 1, Math.floor((v - lo) / width));
    counts[b] = (counts[b] as number) + 1;
  }
  const left = counts.map((_, i) => lo + i * width);
  const right = counts.map((_, i) => (i === bins - 1 ? hi : lo + (i + 1) * width));
  return { left, right, counts };
}

/** The finite numbers of a histogram plot's value column. */
export function histogramValues(p: PlotPayload): number[] {
  const vi = column(p.table, p.fields.value);
  if (vi < 0) return [];
  return p.table.data.map((r) => numberOf(r[vi])).filter(Number.isFinite);
}

export interface ConfusionGrid {
  classes: string[];
  /** counts[actual][predicted] */
  counts: number[][];
  max: number;
}

/**
 * The confusion matrix's grid: the plot's classes (else the names its rows use, in order of
 * first use), counts summed per (actual, predicted). A cell naming a class by its number
 * (an index into the classes) counts for that class.
 */
export function confusionGrid(p: PlotPayload): ConfusionGrid {
  const t = p.table;
  const ai = column(t, p.fields.actual);
  const pi = column(t, p.fields.predicted);
  const ci = column(t, p.fields.count);
  const classes = p.classes.slice();
  const at = new Map(classes.map((c, i) => [c, i]));
  const indexOf = (c: Cell | undefined): number => {
    if (typeof c === "number" && Number.isInteger(c) && !at.has(String(c)) && c >= 0 && c < p.classes.length) return c;
    const name = cellText(c ?? null);
    let i = at.get(name);
    if (i === undefined) {
      i = classes.length;
      classes.push(name);
      at.set(name, i);
    }
    return i;
  };
  const cells: [number, number, number][] = [];
  if (ai >= 0 && pi >= 0) {
    for (const row of t.data) {
      const n = ci >= 0 ? numberOf(row[ci]) : 1;
      if (!Number.isFinite(n)) continue;
      cells.push([indexOf(row[ai]), indexOf(row[pi]), n]);
    }
  }
  const counts = classes.map(() => new Array<number>(classes.length).fill(0));
  let max = 0;
  for (const [a, pr, n] of cells) {
    const row = counts[a] as number[];
    row[pr] = (row[pr] as number) + n;
    if ((row[pr] as number) > max) max = row[pr] as number;
  }
  return { classes, counts, max };
}

/** A count's fill in the heat map: white to a deep blue, and a text colour that reads on it. */
export function heatFill(count: number, max: number): { fill: string; text: string } {
  const t = max > 0 ? Math.max(0, Math.min(1, count / max)) : 0;
  const mix = (a: number, b: number): number => Math.round(a + (b - a) * t);
  const fill = `rgb(${mix(247, 8)},${mix(251, 48)},${mix(255, 107)})`;
  return { fill, text: t > 0.5 ? "#ffffff" : "#1e293b" };
}

const AXIS_LABELS: Record<string, [string, string]> = {
  pr_curve: ["recall", "precision"],
  roc_curve: ["false positive rate", "true positive rate"],
};

// -- drawing ------------------------------------------------------------------------------------

function figure(B: BokehNS, opts: Record<string, unknown>): BokehNS {
  const p = B.Plotting.figure({
    height: HEIGHT,
    sizing_mode: "stretch_width",
    tools: "pan,wheel_zoom,box_zoom,reset,save",
    toolbar_location: "above",
    background_fill_color: "#ffffff",
    border_fill_color: "#ffffff",
    outline_line_color: null,
    min_border_left: 44,
    ...opts,
  });
  return styleFigure(p);
}

/** The Bokeh figure of a plot payload. */
export function plotFigure(B: BokehNS, p: PlotPayload): BokehNS {
  const title = p.title ?? undefined;
  switch (p.plot) {
    case "bar": {
      const d = barData(p);
      const fig = figure(B, { x_range: d.labels, title, x_axis_label: p.fields.label ?? "", y_axis_label: p.fields.value ?? "" });
      const source = new B.ColumnDataSource({ data: { label: d.labels, value: d.values } });
      fig.vbar({ x: { field: "label" }, top: { field: "value" }, width: 0.8, source, fill_color: PALETTE[0], line_color: null });
      if (d.labels.length > 8) for (const axis of fig.xaxis) axis.major_label_orientation = Math.PI / 4;
      return fig;
    }
    case "histogram": {
      const b = histogramBins(histogramValues(p));
      const fig = figure(B, { title, x_axis_label: p.fields.value ?? "", y_axis_label: "count" });
      const source = new B.ColumnDataSource({ data: { left: b.left, right: b.right, top: b.counts } });
      fig.quad({
        left: { field: "left" }, right: { field: "right" }, top: { field: "top" }, bottom: 0, source,
        fill_color: PALETTE[0], line_color: "#ffffff",
      }); // prettier-ignore
      return fig;
    }
    case "confusion_matrix": {
      const g = confusionGrid(p);
      const xs: string[] = [];
      const ys: string[] = [];
      const fills: string[] = [];
      const texts: string[] = [];
      const textColors: string[] = [];
      g.counts.forEach((row, a) =>
        row.forEach((n, pr) => {
          xs.push(g.classes[pr] as string);
          ys.push(g.classes[a] as string);
          const h = heatFill(n, g.max);
          fills.push(h.fill);
          textColors.push(h.text);
          texts.push(cellText(n));
        }),
      );
      const fig = figure(B, {
        title, x_range: g.classes, y_range: g.classes.slice().reverse(),
        x_axis_label: "predicted", y_axis_label: "actual", tools: "save",
      }); // prettier-ignore
      // p.xgrid is iterable, not indexable.
      for (const grid of [...fig.xgrid, ...fig.ygrid]) grid.grid_line_color = null;
      const source = new B.ColumnDataSource({ data: { x: xs, y: ys, fill: fills, text: texts, color: textColors } });
      fig.rect({ x: { field: "x" }, y: { field: "y" }, width: 1, height: 1, source, fill_color: { field: "fill" }, line_color: "#e2e8f0" });
      fig.text({
        x: { field: "x" }, y: { field: "y" }, text: { field: "text" }, source, text_align: "center",
        text_baseline: "middle", text_color: { field: "color" }, text_font_size: "11px",
      }); // prettier-ignore
      if (g.classes.length > 6) for (const axis of fig.xaxis) axis.major_label_orientation = Math.PI / 4;
      return fig;
    }
    default: {
      const series = xySeries(p);
      const [xl, yl] = AXIS_LABELS[p.plot] ?? [p.fields.x ?? "", p.fields.y ?? ""];
      const fig = figure(B, { title, x_axis_label: xl, y_axis_label: yl });
      const legend = series.length > 1;
      series.forEach((s, i) => {
        const color = PALETTE[i % PALETTE.length];
        const source = new B.ColumnDataSource({ data: { x: s.xs, y: s.ys } });
        const label = legend ? { legend_label: s.name } : {};
        if (p.plot === "scatter") {
          fig.scatter({ x: { field: "x" }, y: { field: "y" }, source, marker: "circle", size: 6, fill_color: color, line_color: color, fill_alpha: 0.7, ...label });
        } else {
          fig.line({ x: { field: "x" }, y: { field: "y" }, source, line_color: color, line_width: 2, ...label });
          if (s.xs.length === 1) fig.scatter({ x: { field: "x" }, y: { field: "y" }, source, marker: "circle", size: 6, fill_color: color, line_color: color });
        }
      });
      if (p.plot === "roc_curve") {
        fig.line({ x: [0, 1], y: [0, 1], line_color: "#94a3b8", line_dash: "dashed", line_width: 1 });
      }
      if (legend) {
        fig.legend.click_policy = "hide";
        fig.legend.location = p.plot === "roc_curve" ? "bottom_right" : "top_right";
        fig.legend.label_text_font_size = "11px";
        fig.legend.background_fill_alpha = 0.7;
        fig.legend.border_line_color = null;
        fig.legend.padding = 4;
        fig.legend.spacing = 0;
      }
      return fig;
    }
  }
}

export class PlotPanel {
  readonly el: HTMLElement;
  private readonly steps: StepSelect;
  private readonly host: HTMLElement;
  private shown: MediaEntry | null = null;
  private view: BokehNS = null;
  private Bokeh: BokehNS = null;
  private drawn = 0;

  constructor(private readonly km: KeyMedia) {
    this.el = panelEl(km.key, "plot");
    const bar = document.createElement("div");
    bar.className = "nbt-media-bar";
    this.steps = new StepSelect(() => this.update());
    bar.append(titleEl(km.key), this.steps.el);
    this.host = document.createElement("div");
    this.host.className = "nbt-media-plot";
    this.el.append(bar, this.host);
    this.update();
  }

  setBokeh(B: BokehNS): void {
    if (this.Bokeh) return;
    this.Bokeh = B;
    this.draw();
  }

  update(): void {
    const e = this.steps.update(this.km);
    if (!e || e === this.shown) return;
    this.shown = e;
    this.el.dataset.step = String(e.step);
    if (e.payload.kind === "plot") this.host.dataset.plot = e.payload.plot.plot;
    this.draw();
  }

  private draw(): void {
    const B = this.Bokeh;
    const e = this.shown;
    if (!B || !e || e.payload.kind !== "plot") return;
    const run = ++this.drawn;
    this.view?.remove();
    this.view = null;
    this.host.replaceChildren();
    let fig: BokehNS;
    try {
      fig = plotFigure(B, e.payload.plot);
    } catch (err) {
      this.host.textContent = `This plot could not be drawn: ${String(err)}`;
      return;
    }
    void B.Plotting.show(fig, this.host).then((v: BokehNS) => {
      if (run !== this.drawn) v.remove();
      else this.view = v;
    });
  }

  destroy(): void {
    this.drawn++;
    this.view?.remove();
    this.view = null;
  }
}
