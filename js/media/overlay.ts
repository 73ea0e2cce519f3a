// Masks and boxes over an image: class colours, the legend's per-class toggles, and the
// drawing onto a canvas laid over the <img>. The logic (colours, toggles, the RGBA of a
// mask, box labels, the legend's classes) has no DOM and is tested in Node; `drawOverlay`
// is the canvas part.
//
// A class has one colour everywhere (masks and boxes of every set alike), by its id, so
// the same class reads the same across images, steps and sets.

import type { BoxSet, ImageItem } from "../protocol";
import type { ClassIds } from "./png";

// Tableau's 10 and their lighter halves: distinct at 50% alpha over a photo.
const PALETTE: [number, number, number][] = [
  [31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189],
  [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207],
  [174, 199, 232], [255, 187, 120], [152, 223, 138], [255, 152, 150], [197, 176, 213],
  [196, 156, 148], [247, 182, 210], [199, 199, 199], [219, 219, 141], [158, 218, 229],
]; // prettier-ignore

/** The colour of class `id`, as [r, g, b]. */
export function classColor(id: number): [number, number, number] {
  const n = PALETTE.length;
  return PALETTE[((Math.trunc(id) % n) + n) % n] as [number, number, number];
}

export function classCss(id: number, alpha = 1): string {
  const [r, g, b] = classColor(id);
  return alpha === 1 ? `rgb(${r},${g},${b})` : `rgba(${r},${g},${b},${alpha})`;
}

/**
 * Which classes of which mask or box set are hidden (a legend's checkboxes). `version`
 * grows with every change, so a coloured mask cached for one version is known stale.
 */
export class ClassToggles {
  private readonly hidden = new Map<string, Set<number>>();
  version = 0;

  shown(set: string, id: number): boolean {
    return !this.hidden.get(set)?.has(id);
  }

  set(set: string, id: number, shown: boolean): void {
    let h = this.hidden.get(set);
    if (!h) this.hidden.set(set, (h = new Set()));
    const was = !h.has(id);
    if (was === shown) return;
    if (shown) h.delete(id);
    else h.add(id);
    this.version++;
  }

  /** The hidden ids of a set (empty when none). */
  hiddenOf(set: string): ReadonlySet<number> {
    return this.hidden.get(set) ?? EMPTY;
  }
}

const EMPTY: ReadonlySet<number> = new Set();

/** Mask alpha: 50%, as the contract says. */
export const MASK_ALPHA = 128;

/**
 * The RGBA pixels of a mask: each pixel its class's colour at `alpha`, transparent where
 * its class is hidden.
 *
 * Example: ids [0, 1] with class 1 hidden give [31, 119, 180, 128, 0, 0, 0, 0].
 */
export function colorMask(mask: ClassIds, hidden: ReadonlySet<number>, alpha = MASK_ALPHA): Uint8ClampedArray<ArrayBuffer> {
  const out = new Uint8ClampedArray(mask.w * mask.h * 4);
  // One lookup per class, not per pixel: a mask has a few classes and many pixels.
  const lut = new Map<number, number>();
  const view = new Uint32Array(out.buffer);
  const little = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
  for (let i = 0; i < mask.ids.length; i++) {
    const id = mask.ids[i] as number;
    let px = lut.get(id);
    if (px === undefined) {
      if (hidden.has(id)) px = 0;
      else {
        const [r, g, b] = classColor(id);
        px = little ? ((alpha << 24) | (b << 16) | (g << 8) | r) >>> 0 : ((r << 24) | (g << 16) | (b << 8) | alpha) >>> 0;
      }
      lut.set(id, px);
    }
    view[i] = px;
  }
  return out;
}

/** What a box's label says: its caption (else its class's name), then its scores. */
export function boxLabel(box: BoxSet["boxes"][number], labels: Record<string, string>): string {
  const name = box.caption ?? labels[String(box.class_id)] ?? `class ${box.class_id}`;
  const scores = Object.entries(box.scores).map(([k, v]) => `${k}: ${fmtScore(v)}`);
  return scores.length ? `${name} (${scores.join(", ")})` : name;
}

function fmtScore(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(Math.abs(v) < 10 ? 2 : 1);
}

/** One mask or box set in a legend, with its classes in id order. */
export interface LegendSet {
  set: string;
  kind: "mask" | "box";
  classes: { id: number; label: string }[];
}

/**
 * The legend of the images given (a panel's held entries): every mask and box set by name,
 * in first-seen order, with the classes their labels name and those their boxes use.
 */
export function legendSets(items: Iterable<ImageItem>): LegendSet[] {
  const sets = new Map<string, { kind: "mask" | "box"; classes: Map<number, string> }>();
  const get = (set: string, kind: "mask" | "box"): Map<number, string> => {
    let s = sets.get(setKey(kind, set));
    if (!s) sets.set(setKey(kind, set), (s = { kind, classes: new Map() }));
    return s.classes;
  };
  for (const item of items) {
    for (const m of item.masks) {
      const c = get(m.name, "mask");
      for (const [id, label] of Object.entries(m.labels)) if (!c.has(Number(id))) c.set(Number(id), label);
    }
    for (const b of item.boxes) {
      const c = get(b.name, "box");
      for (const [id, label] of Object.entries(b.labels)) if (!c.has(Number(id))) c.set(Number(id), label);
      for (const box of b.boxes) if (!c.has(box.class_id)) c.set(box.class_id, `class ${box.class_id}`);
    }
  }
  return [...sets.entries()].map(([k, s]) => ({
    set: k.slice(k.indexOf(":") + 1),
    kind: s.kind,
    classes: [...s.classes.entries()].filter(([id]) => Number.isFinite(id)).sort((a, b) => a[0] - b[0]).map(([id, label]) => ({ id, label })),
  }));
}

function setKey(kind: string, set: string): string {
  return `${kind}:${set}`;
}

/** A legend's signature: the same one needs no new checkboxes. */
export function legendSignature(sets: LegendSet[]): string {
  return JSON.stringify(sets);
}

/** The toggles' name of a set: masks and boxes of the same name toggle apart. */
export function toggleSet(kind: "mask" | "box", set: string): string {
  return setKey(kind, set);
}

// -- drawing ------------------------------------------------------------------------------------

/** Coloured masks, cached by mask name and the toggles' version (slider moves reuse them). */
export class MaskPainter {
  private readonly painted = new Map<string, { version: number; canvas: HTMLCanvasElement }>();

  constructor(private readonly toggles: ClassToggles) {}

  /** The mask coloured for the toggles as they are now. */
  canvas(name: string, set: string, mask: ClassIds): HTMLCanvasElement {
    const have = this.painted.get(name + "\n" + set);
    if (have && have.version === this.toggles.version) return have.canvas;
    const c = have?.canvas ?? document.createElement("canvas");
    c.width = mask.w;
    c.height = mask.h;
    const img = new ImageData(colorMask(mask, this.toggles.hiddenOf(toggleSet("mask", set))), mask.w, mask.h);
    c.getContext("2d")?.putImageData(img, 0, 0);
    this.painted.set(name + "\n" + set, { version: this.toggles.version, canvas: c });
    return c;
  }
}

/**
 * Draw an image's masks and boxes on `canvas`, sized to `w` x `h` CSS pixels. `mask(name)`
 * gives a mask's class ids when they are at hand (null: not yet; drawn when they are).
 */
export function drawOverlay(
  canvas: HTMLCanvasElement,
  item: ImageItem,
  w: number,
  h: number,
  masks: { name: string; set: string; ids: ClassIds | null }[],
  painter: MaskPainter,
  toggles: ClassToggles,
): void {
  const dpr = Math.min(typeof window !== "undefined" ? window.devicePixelRatio || 1 : 1, 3);
  const cw = Math.max(1, Math.round(w * dpr));
  const ch = Math.max(1, Math.round(h * dpr));
  if (canvas.width !== cw) canvas.width = cw;
  if (canvas.height !== ch) canvas.height = ch;
  canvas.style.width = `${w}px`;
  canvas.style.height = `${h}px`;
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, cw, ch);
  ctx.imageSmoothingEnabled = false;
  for (const m of masks) {
    if (m.ids) ctx.drawImage(painter.canvas(m.name, m.set, m.ids), 0, 0, cw, ch);
  }
  ctx.scale(dpr, dpr);
  const font = Math.max(9, Math.min(12, Math.round(Math.min(w, h) / 10)));
  ctx.font = `${font}px sans-serif`;
  ctx.textBaseline = "top";
  for (const set of item.boxes) {
    const ts = toggleSet("box", set.name);
    for (const b of set.boxes) {
      if (!toggles.shown(ts, b.class_id)) continue;
      const x = b.x0 * w;
      const y = b.y0 * h;
      const bw = (b.x1 - b.x0) * w;
      const bh = (b.y1 - b.y0) * h;
      ctx.strokeStyle = classCss(b.class_id);
      ctx.lineWidth = w >= 200 ? 2 : 1.25;
      ctx.strokeRect(x, y, bw, bh);
      const text = boxLabel(b, set.labels);
      const tw = ctx.measureText(text).width + 4;
      const ty = y - font - 2 >= 0 ? y - font - 2 : y;
      ctx.fillStyle = classCss(b.class_id, 0.85);
      ctx.fillRect(x, ty, Math.min(tw, Math.max(w - x, 0)), font + 2);
      ctx.fillStyle = "#fff";
      ctx.fillText(text, x + 2, ty + 1, Math.max(w - x - 4, 1));
    }
  }
}
