// The dashboard's histogram section: what `watch(model)` records, live.
//
// A compact overview first, one row a tensor (name, norm sparkline, NaN/inf flag, steps
// received), so a model with a hundred layers stays one screen; a filter by name; and, for
// the rows a person opens (the first few open by themselves), a panel with the heat map over
// steps (x step, y value, colour count, every step re-binned onto a common y range, or each
// on its own range) and the latest distribution. Drawn on plain canvases: a heat map is an
// image, and putImageData of one small image per panel is cheaper than hundreds of glyphs.

import type { HistogramEntry } from "../protocol";
import { commonRange, heatColor, rebin } from "./rebin";

/** Panels that open by themselves, in the order their keys arrive. */
const AUTO_OPEN = 4;
const HEAT_W = 420;
const HEAT_H = 150;
const ROWS = 75; // value bins of the heat map
const MARGIN_L = 62;
const MARGIN_B = 16;
const LATEST_W = 180;
const EMPTY = new Float64Array(0);

interface Series {
  key: string;
  steps: number[];
  lo: number[];
  hi: number[];
  counts: Float64Array[];
  norms: (number | null)[];
  firstBad: number | null;
  row: HTMLElement;
  toggle: HTMLButtonElement;
  spark: HTMLCanvasElement;
  flag: HTMLElement;
  info: HTMLElement;
  panel: Panel | null;
  open: boolean;
}

interface Panel {
  el: HTMLElement;
  heat: HTMLCanvasElement;
  latest: HTMLCanvasElement;
}

export class HistogramSection {
  private readonly series = new Map<string, Series>();
  private readonly order: string[] = [];
  private readonly details: HTMLDetailsElement;
  private readonly count: HTMLElement;
  private readonly filter: HTMLInputElement;
  private readonly perStep: HTMLInputElement;
  private readonly overview: HTMLElement;
  private readonly dirty = new Set<string>();
  private frame = 0;
  private autoOpened = 0;

  constructor(readonly el: HTMLElement) {
    addStyles();
    el.classList.add("nbt-hist-section");
    el.hidden = true; // until the first histogram arrives
    this.details = document.createElement("details");
    this.details.open = true;
    const summary = document.createElement("summary");
    summary.textContent = "Histograms ";
    this.count = span("nbt-hist-count", "");
    summary.append(this.count);
    const controls = div("nbt-hist-controls");
    this.filter = document.createElement("input");
    this.filter.type = "search";
    this.filter.className = "nbt-hist-filter";
    this.filter.placeholder = "filter by name";
    const label = document.createElement("label");
    this.perStep = document.createElement("input");
    this.perStep.type = "checkbox";
    this.perStep.className = "nbt-hist-perstep";
    label.append(this.perStep, " per-step ranges");
    controls.append(this.filter, label);
    this.overview = div("nbt-hist-overview");
    this.details.append(summary, controls, this.overview);
    el.replaceChildren(this.details);
    this.filter.addEventListener("input", () => this.applyFilter());
    this.perStep.addEventListener("change", () => {
      for (const s of this.series.values()) if (s.open) this.dirty.add(s.key);
      this.schedule();
    });
  }

  push(entries: HistogramEntry[]): void {
    for (const e of entries) {
      const s = this.series.get(e.key) ?? this.add(e.key);
      s.steps.push(e.step);
      s.lo.push(e.lo);
      s.hi.push(e.hi);
      s.counts.push(e.counts);
      s.norms.push(e.norm);
      if (s.firstBad === null && (e.nan > 0 || e.inf > 0)) s.firstBad = e.step;
      this.dirty.add(e.key);
    }
    if (entries.length) this.schedule();
  }

  destroy(): void {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
  }

  private add(key: string): Series {
    const row = div("nbt-hist-row");
    row.dataset.key = key;
    const toggle = document.createElement("button");
    toggle.className = "nbt-hist-toggle";
    toggle.type = "button";
    const name = span("nbt-hist-name", key);
    name.title = key;
    const spark = document.createElement("canvas");
    spark.className = "nbt-hist-spark";
    spark.width = 90;
    spark.height = 18;
    spark.title = "norm over steps";
    const flag = span("nbt-hist-flag", "");
    const info = span("nbt-hist-info", "");
    row.append(toggle, name, spark, flag, info);
    const s: Series = {
      key, steps: [], lo: [], hi: [], counts: [], norms: [], firstBad: null,
      row, toggle, spark, flag, info, panel: null, open: false,
    }; // prettier-ignore
    this.series.set(key, s);
    this.order.push(key);
    this.overview.append(row);
    toggle.addEventListener("click", () => this.setOpen(s, !s.open));
    name.addEventListener("click", () => this.setOpen(s, !s.open));
    if (this.autoOpened < AUTO_OPEN) {
      this.autoOpened++;
      this.setOpen(s, true);
    } else {
      this.setOpen(s, false);
    }
    this.el.hidden = false;
    this.count.textContent = `(${this.order.length} tensors)`;
    this.applyFilterTo(s);
    return s;
  }

  private setOpen(s: Series, open: boolean): void {
    s.open = open;
    s.toggle.textContent = open ? "▾" : "▸";
    s.toggle.setAttribute("aria-expanded", String(open));
    if (open && !s.panel) {
      s.panel = makePanel(s.key);
      s.row.after(s.panel.el);
    }
    if (s.panel) s.panel.el.hidden = !open || s.row.hidden;
    if (open) {
      this.dirty.add(s.key);
      this.schedule();
    }
  }

  private applyFilter(): void {
    for (const s of this.series.values()) this.applyFilterTo(s);
  }

  private applyFilterTo(s: Series): void {
    const q = this.filter.value.trim().toLowerCase();
    s.row.hidden = q !== "" && !s.key.toLowerCase().includes(q);
    if (s.panel) s.panel.el.hidden = !s.open || s.row.hidden;
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      for (const key of this.dirty) {
        const s = this.series.get(key);
        if (s) this.draw(s);
      }
      this.dirty.clear();
    });
  }

  private draw(s: Series): void {
    const n = s.steps.length;
    s.info.textContent = `${n} step${n === 1 ? "" : "s"}`;
    s.row.dataset.points = String(n);
    if (s.firstBad !== null) {
      s.flag.textContent = `NaN/inf at step ${s.firstBad}`;
      s.row.classList.add("nbt-hist-bad");
      s.row.dataset.nonfinite = String(s.firstBad);
    }
    drawSpark(s.spark, s.norms);
    if (!s.open || !s.panel) return;
    s.panel.el.dataset.points = String(n);
    drawHeat(s.panel.heat, s, this.perStep.checked);
    drawLatest(s.panel.latest, s);
  }
}

function makePanel(key: string): Panel {
  const el = div("nbt-hist-panel nbtrack-histogram");
  el.dataset.metric = key;
  el.dataset.points = "0";
  const heat = document.createElement("canvas");
  heat.className = "nbt-hist-heat";
  heat.width = HEAT_W;
  heat.height = HEAT_H;
  const latest = document.createElement("canvas");
  latest.className = "nbt-hist-latest";
  latest.width = LATEST_W;
  latest.height = HEAT_H;
  el.append(heat, latest);
  return { el, heat, latest };
}

function drawHeat(canvas: HTMLCanvasElement, s: Series, perStep: boolean): void {
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  const w = HEAT_W - MARGIN_L;
  const h = HEAT_H - MARGIN_B;
  ctx.clearRect(0, 0, HEAT_W, HEAT_H);
  const n = s.steps.length;
  if (!n) return;
  const [yLo, yHi] = commonRange(s.lo, s.hi);
  const s0 = s.steps[0] ?? 0;
  const last = s.steps[n - 1] ?? s0;
  const gap = n > 1 ? (last - s0) / (n - 1) : 1;
  const span = Math.max(last - s0 + gap, 1e-9);
  // One pixel column per image column; each column shows the step drawn at its left.
  const img = ctx.createImageData(w, ROWS);
  const col = new Float64Array(ROWS);
  let k = 0;
  for (let x = 0; x < w; x++) {
    const stepAt = s0 + ((x + 0.5) / w) * span;
    while (k + 1 < n && (s.steps[k + 1] ?? Infinity) <= stepAt) k++;
    col.fill(0);
    const counts = s.counts[k] ?? EMPTY;
    const lo = s.lo[k] ?? 0;
    const hi = s.hi[k] ?? 0;
    if (perStep) rebin(counts, lo, hi, lo, hi, ROWS, col);
    else rebin(counts, lo, hi, yLo, yHi, ROWS, col);
    let max = 0;
    for (const c of col) if (c > max) max = c;
    col.forEach((c, r) => {
      // Each step's distribution on its own scale; sqrt lifts the tails into view.
      const [cr, cg, cb] = heatColor(max > 0 ? Math.sqrt(c / max) : 0);
      const p = ((ROWS - 1 - r) * w + x) * 4; // high values at the top
      img.data[p] = cr;
      img.data[p + 1] = cg;
      img.data[p + 2] = cb;
      img.data[p + 3] = 255;
    });
  }
  const off = document.createElement("canvas");
  off.width = w;
  off.height = ROWS;
  off.getContext("2d")?.putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(off, MARGIN_L, 0, w, h);
  ctx.fillStyle = "#64748b";
  ctx.font = "10px sans-serif";
  ctx.textAlign = "right";
  if (perStep) {
    ctx.fillText("per-step", MARGIN_L - 4, 10);
    ctx.fillText("range", MARGIN_L - 4, 22);
  } else {
    ctx.fillText(fmtValue(yHi), MARGIN_L - 4, 10);
    ctx.fillText(fmtValue((yLo + yHi) / 2), MARGIN_L - 4, h / 2 + 4);
    ctx.fillText(fmtValue(yLo), MARGIN_L - 4, h - 2);
  }
  ctx.textAlign = "left";
  ctx.fillText(`step ${s0}`, MARGIN_L, HEAT_H - 3);
  ctx.textAlign = "right";
  ctx.fillText(`${last}`, HEAT_W - 2, HEAT_H - 3);
}

function drawLatest(canvas: HTMLCanvasElement, s: Series): void {
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  ctx.clearRect(0, 0, LATEST_W, HEAT_H);
  const n = s.steps.length;
  if (!n) return;
  const counts = s.counts[n - 1] ?? EMPTY;
  const h = HEAT_H - MARGIN_B - 12;
  let max = 0;
  for (const c of counts) if (c > max) max = c;
  const bw = LATEST_W / Math.max(counts.length, 1);
  ctx.fillStyle = "#2563eb";
  counts.forEach((c, i) => {
    if (!c) return;
    const bh = Math.max(1, (c / max) * h);
    ctx.fillRect(i * bw, 12 + h - bh, Math.max(bw - 0.5, 0.5), bh);
  });
  ctx.fillStyle = "#64748b";
  ctx.font = "10px sans-serif";
  ctx.textAlign = "left";
  ctx.fillText(`latest: step ${s.steps[n - 1] ?? ""}`, 0, 9);
  ctx.fillText(fmtValue(s.lo[n - 1] ?? 0), 0, HEAT_H - 3);
  ctx.textAlign = "right";
  ctx.fillText(fmtValue(s.hi[n - 1] ?? 0), LATEST_W, HEAT_H - 3);
}

function drawSpark(canvas: HTMLCanvasElement, values: (number | null)[]): void {
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  const { width: w, height: h } = canvas;
  ctx.clearRect(0, 0, w, h);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v === null || !Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!(hi >= lo)) return;
  const range = hi - lo || 1;
  const n = values.length;
  ctx.strokeStyle = "#2563eb";
  ctx.lineWidth = 1.2;
  ctx.beginPath();
  let pen = false;
  values.forEach((v, i) => {
    if (v === null || !Number.isFinite(v)) {
      pen = false; // a gap where the norm is missing
      return;
    }
    const x = n > 1 ? (i / (n - 1)) * (w - 2) + 1 : w / 2;
    const y = h - 2 - ((v - lo) / range) * (h - 4);
    if (pen) ctx.lineTo(x, y);
    else ctx.moveTo(x, y);
    pen = true;
  });
  ctx.stroke();
}

function fmtValue(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? v.toExponential(1) : v.toPrecision(3);
}

function div(cls: string, text?: string): HTMLDivElement {
  const d = document.createElement("div");
  d.className = cls;
  if (text !== undefined) d.textContent = text;
  return d;
}

function span(cls: string, text: string): HTMLSpanElement {
  const s = document.createElement("span");
  s.className = cls;
  s.textContent = text;
  return s;
}

const CSS = `
.nbtrack-dashboard .nbt-hist-section { margin-top: 10px; }
.nbtrack-dashboard .nbt-hist-section summary { font-weight: 600; cursor: pointer; }
.nbtrack-dashboard .nbt-hist-count { color: var(--nbt-muted, #64748b); font-weight: 400; }
.nbtrack-dashboard .nbt-hist-controls { display: flex; gap: 14px; align-items: center; margin: 6px 0; }
.nbtrack-dashboard .nbt-hist-filter { width: 220px; font-size: 12px; padding: 2px 6px; }
.nbtrack-dashboard .nbt-hist-overview { display: flex; flex-direction: column; gap: 1px; }
.nbtrack-dashboard .nbt-hist-row {
  display: grid; grid-template-columns: 18px minmax(120px, 320px) 92px auto 1fr;
  align-items: center; gap: 8px; padding: 1px 4px; border-radius: 4px;
}
.nbtrack-dashboard .nbt-hist-row:hover { background: #eef2ff; }
.nbtrack-dashboard .nbt-hist-row[hidden], .nbtrack-dashboard .nbt-hist-panel[hidden] { display: none; }
.nbtrack-dashboard .nbt-hist-toggle {
  border: none; background: none; cursor: pointer; padding: 0; color: var(--nbt-muted, #64748b);
}
.nbtrack-dashboard .nbt-hist-name {
  font-family: var(--jp-code-font-family, monospace); font-size: 11px; cursor: pointer;
  overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
}
.nbtrack-dashboard .nbt-hist-flag { color: #dc2626; font-weight: 600; font-size: 11px; }
.nbtrack-dashboard .nbt-hist-info { color: var(--nbt-muted, #64748b); font-size: 11px; }
.nbtrack-dashboard .nbt-hist-bad { background: #fef2f2; }
.nbtrack-dashboard .nbt-hist-panel {
  display: flex; gap: 12px; padding: 6px 8px 8px 26px; flex-wrap: wrap;
  background: var(--nbt-card, #fff); border: 1px solid var(--nbt-border, #e2e8f0); border-radius: 6px;
}
`;

function addStyles(): void {
  if (document.getElementById("nbtrack-histogram-styles")) return;
  const style = document.createElement("style");
  style.id = "nbtrack-histogram-styles";
  style.textContent = CSS;
  document.head.append(style);
}
