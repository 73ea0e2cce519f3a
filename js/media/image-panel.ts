// One image key's panel: a step slider over the held entries, the grid of the shown step's
// images (thumbnail, caption, masks and boxes on a canvas over it), the legend's per-class
// toggles, and a click to the lightbox.
//
// A slider move must be cheap (1,000 steps x 16 images scrubbed at 60 frames a second): the
// grid's items are kept and only their `img.src` and caption change; an item's size is set
// only when it changes; overlays are drawn for the shown step only, from masks decoded once.

import type { ImageItem, MediaEntry } from "../protocol";
import type { Lightbox } from "./lightbox";
import type { MaskIds } from "./masks";
import type { LegendSet } from "./overlay";
import { ClassToggles, classCss, drawOverlay, legendSets, legendSignature, MaskPainter, toggleSet } from "./overlay";
import type { KeyMedia, MediaStore } from "./store";

/** A grid image's long side: small images are enlarged (pixelated) up to it. */
const GRID_PX = 128;

/**
 * The size (CSS px) a thumbnail of tw x th is shown at in the grid: an integer multiple for
 * a small one (at most 4x), as it is for one already GRID_PX or more.
 *
 * Example: `gridSize(28, 28)` is `[112, 112]`; `gridSize(128, 96)` is `[128, 96]`.
 */
export function gridSize(tw: number, th: number): [number, number] {
  const long = Math.max(tw, th, 1);
  const s = Math.max(1, Math.min(4, Math.floor(GRID_PX / long)));
  return [Math.max(1, Math.round(tw * s)), Math.max(1, Math.round(th * s))];
}

/**
 * Where the slider goes when the held entries change: the newest when it was there (or
 * nothing was shown); else the entry shown before (by its index), or the nearest older one
 * that is still held.
 *
 * Example: `nextPosition([0, 4, 8], 4, false)` is 1; `nextPosition([0, 4, 8, 9], 8, true)` is 3.
 */
export function nextPosition(indexes: readonly number[], shownIndex: number | null, atNewest: boolean): number {
  const n = indexes.length;
  if (!n) return -1;
  if (atNewest || shownIndex === null) return n - 1;
  let best = 0;
  for (let i = 0; i < n; i++) if ((indexes[i] as number) <= shownIndex) best = i;
  return best;
}

interface Item {
  el: HTMLElement;
  frame: HTMLElement;
  img: HTMLImageElement;
  caption: HTMLElement;
  canvas: HTMLCanvasElement | null;
  w: number;
  h: number;
  data: ImageItem | null;
}

export class ImagePanel {
  readonly el: HTMLElement;
  private readonly slider: HTMLInputElement;
  private readonly stepText: HTMLElement;
  private readonly legend: HTMLElement;
  private readonly grid: HTMLElement;
  private readonly items: Item[] = [];
  private readonly toggles = new ClassToggles();
  private readonly painter: MaskPainter;
  private legendSig = "";
  private pos = -1;
  private shown: MediaEntry | null = null;
  private frame = 0;

  constructor(
    private readonly km: KeyMedia,
    private readonly store: MediaStore,
    private readonly masks: MaskIds,
    private readonly lightbox: Lightbox,
  ) {
    this.painter = new MaskPainter(this.toggles);
    this.el = panelEl(km.key, "image");
    const bar = document.createElement("div");
    bar.className = "nbt-media-bar";
    this.slider = document.createElement("input");
    this.slider.type = "range";
    this.slider.className = "nbt-media-slider";
    this.slider.min = "0";
    this.slider.step = "1";
    this.slider.title = "step";
    this.stepText = document.createElement("span");
    this.stepText.className = "nbt-media-step";
    bar.append(titleEl(km.key), this.slider, this.stepText);
    this.legend = document.createElement("div");
    this.legend.className = "nbt-media-legend";
    this.legend.hidden = true;
    this.grid = document.createElement("div");
    this.grid.className = "nbt-media-grid";
    this.el.append(bar, this.legend, this.grid);
    this.slider.addEventListener("input", () => this.show(Number(this.slider.value)));
    this.grid.addEventListener("click", (e) => {
      const target = e.target instanceof Element ? e.target.closest(".nbt-media-item") : null;
      const item = this.items.find((it) => it.el === target);
      if (item?.data) this.lightbox.open(item.data, this.toggles);
    });
    this.legend.addEventListener("change", (e) => {
      const box = e.target;
      if (!(box instanceof HTMLInputElement) || box.type !== "checkbox") return;
      const set = box.dataset.toggleSet ?? "";
      this.toggles.set(set, Number(box.dataset.class), box.checked);
      this.drawOverlays();
      if (this.lightbox.isOpen) this.lightbox.redraw();
    });
    this.update();
  }

  /** The key's held entries changed (new ones, or thinned). */
  update(): void {
    const n = this.km.length;
    const atNewest = this.pos === Number(this.slider.max) || this.pos < 0;
    const indexes: number[] = [];
    for (let i = 0; i < n; i++) indexes.push((this.km.at(i) as MediaEntry).index);
    const pos = nextPosition(indexes, this.shown?.index ?? null, atNewest);
    this.slider.max = String(Math.max(0, n - 1));
    this.slider.hidden = n <= 1;
    this.el.dataset.entries = String(n);
    this.updateLegend();
    this.show(pos, true);
  }

  /** Show slider position `pos` (no work when it is shown already, unless `force`). */
  show(pos: number, force = false): void {
    const e = this.km.at(pos);
    if (!e) return;
    if (!force && e === this.shown) return;
    this.pos = pos;
    this.shown = e;
    if (this.slider.value !== String(pos)) this.slider.value = String(pos);
    this.stepText.textContent = `step ${e.step}`;
    this.el.dataset.step = String(e.step);
    const list = e.payload.kind === "image" ? e.payload.items : [];
    while (this.items.length < list.length) this.items.push(this.makeItem());
    while (this.items.length > list.length) this.items.pop()?.el.remove();
    list.forEach((data, i) => this.fill(this.items[i] as Item, data));
    this.drawOverlays();
  }

  private makeItem(): Item {
    const el = document.createElement("figure");
    el.className = "nbt-media-item";
    const img = document.createElement("img");
    img.alt = "";
    img.decoding = "async";
    const caption = document.createElement("figcaption");
    caption.className = "nbt-media-caption";
    const frame = document.createElement("div");
    frame.className = "nbt-media-frame";
    frame.append(img);
    el.append(frame, caption);
    this.grid.append(el);
    return { el, frame, img, caption, canvas: null, w: 0, h: 0, data: null };
  }

  private fill(it: Item, data: ImageItem): void {
    it.data = data;
    if (it.img.dataset.name !== data.thumb) {
      it.img.dataset.name = data.thumb;
      const url = this.store.url(data.thumb);
      if (url) it.img.src = url;
      else it.img.removeAttribute("src");
    }
    const [w, h] = gridSize(data.tw, data.th);
    if (w !== it.w || h !== it.h) {
      it.w = w;
      it.h = h;
      // Sizes given, and the frame and caption contained (styles.ts): a new src or caption
      // then lays out nothing around them.
      it.img.style.width = `${w}px`;
      it.img.style.height = `${h}px`;
      it.frame.style.width = `${w}px`;
      it.frame.style.height = `${h}px`;
      it.caption.style.width = `${Math.max(w, 48)}px`;
      it.img.classList.toggle("nbt-pixelated", w > data.tw);
    }
    const cap = data.caption ?? "";
    if (it.caption.textContent !== cap) it.caption.textContent = cap;
    if (it.caption.hidden !== !cap) it.caption.hidden = !cap;
    const overlay = data.masks.length > 0 || data.boxes.length > 0;
    if (overlay && !it.canvas) {
      it.canvas = document.createElement("canvas");
      it.canvas.className = "nbt-media-overlay";
      it.img.after(it.canvas);
    }
    if (it.canvas) it.canvas.hidden = !overlay;
  }

  /** A thumbnail that came by bytes after its entry (the files arrive with it, mostly). */
  filesCame(names: ReadonlySet<string>): void {
    for (const it of this.items) {
      const n = it.img.dataset.name;
      if (n && names.has(n) && !it.img.getAttribute("src")) it.img.src = this.store.url(n) ?? "";
    }
  }

  /** Draw the shown step's overlays, once per frame at most. */
  private drawOverlays(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      for (const it of this.items) {
        const data = it.data;
        if (!data || !it.canvas || it.canvas.hidden) continue;
        const masks = data.masks.map((m) => {
          const ids = this.masks.get(m.thumb);
          if (!ids && !this.masks.settled(m.thumb)) {
            const shown = this.shown;
            void this.masks.whenReady(m.thumb).then(() => shown === this.shown && this.drawOverlays());
          }
          return { name: m.thumb, set: m.name, ids };
        });
        drawOverlay(it.canvas, data, it.w, it.h, masks, this.painter, this.toggles);
      }
    });
  }

  private updateLegend(): void {
    const items: ImageItem[] = [];
    for (let i = 0; i < this.km.length; i++) {
      const p = this.km.at(i)?.payload;
      if (p?.kind === "image") for (const it of p.items) if (it.masks.length || it.boxes.length) items.push(it);
    }
    const sets = legendSets(items);
    const sig = legendSignature(sets);
    if (sig === this.legendSig) return;
    this.legendSig = sig;
    this.legend.replaceChildren(...sets.map((s) => this.legendRow(s)));
    this.legend.hidden = sets.length === 0;
  }

  private legendRow(s: LegendSet): HTMLElement {
    const row = document.createElement("div");
    row.className = "nbt-media-legend-set";
    const name = document.createElement("span");
    name.className = "nbt-media-legend-name";
    name.textContent = `${s.set || (s.kind === "mask" ? "mask" : "boxes")}${s.kind === "box" ? " (boxes)" : ""}`;
    row.append(name);
    const ts = toggleSet(s.kind, s.set);
    for (const c of s.classes) {
      const label = document.createElement("label");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.checked = this.toggles.shown(ts, c.id);
      box.dataset.set = s.set;
      box.dataset.kind = s.kind;
      box.dataset.class = String(c.id);
      box.dataset.toggleSet = ts;
      const swatch = document.createElement("span");
      swatch.className = "nbt-media-swatch";
      swatch.style.background = classCss(c.id);
      label.append(box, swatch, c.label);
      row.append(label);
    }
    return row;
  }

  destroy(): void {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
  }
}

export function panelEl(key: string, kind: string): HTMLElement {
  const el = document.createElement("div");
  el.className = "nbt-media-panel";
  el.dataset.key = key;
  el.dataset.kind = kind;
  return el;
}

export function titleEl(key: string): HTMLElement {
  const t = document.createElement("span");
  t.className = "nbt-media-title";
  t.textContent = key;
  t.title = key;
  return t;
}
