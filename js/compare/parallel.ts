// The compare view's parallel-coordinates plot: one vertical axis a hyperparameter or metric,
// one polyline a run, drawn on a canvas (200 runs x 8 axes is a few hundred strokes; SVG or
// BokehJS glyphs would cost a DOM node or a glyph view a segment). The axes themselves are
// small absolutely positioned divs over the canvas, so that labels, ticks, the flip button
// and the brush are real elements: text is selectable, and tests find them by `data-axis`.
//
// The numeric core (scales, brushes, hit-testing, colours) is DOM-free and lives in
// parallel-scale.ts, re-exported from here; the class below only wires it to pointer events
// and a canvas.

import { formatValue } from "../format";
import type {
  AxisLayout,
  AxisSpec,
  Brush,
  PcLine,
  Scale,
  SerialisableBrush,
} from "./parallel-scale";
import {
  HOVER_PX,
  MISSING_HIT,
  MISSING_POS,
  VIRIDIS,
  axisXs,
  brushApplies,
  brushFromDrag,
  brushRects,
  brushedIds,
  displayOrder,
  lineColors,
  lineYs,
  makeScale,
  mergeOrder,
  moveAxis,
  nearestLine,
  parseBrush,
  slotAt,
  yOf,
} from "./parallel-scale";

export type {
  AxisKind,
  AxisLayout,
  AxisSpec,
  Brush,
  PcLine,
  Scale,
  SerialisableBrush,
  Tick,
} from "./parallel-scale";
export {
  HOVER_PX,
  LOG_RATIO,
  MISSING_COLOR,
  MISSING_HIT,
  MISSING_POS,
  axisXs,
  brushApplies,
  brushFromDrag,
  brushRects,
  brushedIds,
  categoryKey,
  displayOrder,
  inBrush,
  inferKind,
  insideBrushes,
  lineColors,
  lineYs,
  makeScale,
  mergeOrder,
  moveAxis,
  nearestLine,
  niceTicks,
  parseBrush,
  slotAt,
  tickLabel,
  viridis,
  viridisRgb,
  yOf,
} from "./parallel-scale";

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
  private dragOrigin: DOMRect | null = null;
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
    // During a drag, where the plot was when it began: a brush hides table rows above the
    // plot, which moves the plot under a still pointer; the gesture stays the one drawn.
    const r = this.dragOrigin ?? this.plot.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  }

  private onAxisDown(ax: AxisView, e: PointerEvent): void {
    if (e.button !== 0 || this.drag) return;
    const target = e.target as Element | null;
    if (target?.closest("[data-flip]")) return;
    this.dragOrigin = null;
    const [x, y] = this.local(e);
    this.dragOrigin = this.plot.getBoundingClientRect();
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
    this.dragOrigin = null;
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
