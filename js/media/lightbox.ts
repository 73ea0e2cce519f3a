// The full-size view of one image (`.nbt-lightbox`): the thumbnail enlarged at once, then
// the full file when it comes (from the page's bytes, the host's URL, or the kernel, which
// answers only when idle: after 300 ms without an answer the words say so), with its masks
// and boxes. Closed by a click or Escape. One per Media section.

import type { ImageItem } from "../protocol";
import type { MaskIds } from "./masks";
import type { ClassToggles } from "./overlay";
import { drawOverlay, MaskPainter } from "./overlay";
import type { MediaStore } from "./store";
import { KERNEL_WAIT } from "./store";

/** How long the kernel may take before the page says it is busy. */
export const WAIT_MS = 300;
/** A small image is enlarged up to this long side (pixelated), a large one fits the window. */
const SMALL_UP_TO = 512;

/**
 * The size (CSS px) an image of w x h is shown at in a box of maxW x maxH: fitted, and a
 * small one enlarged to at most SMALL_UP_TO on its long side.
 *
 * Example: `lightboxSize(28, 28, 1000, 800)` is `[512, 512]`; `lightboxSize(2000, 1000,
 * 1000, 800)` is `[1000, 500]`.
 */
export function lightboxSize(w: number, h: number, maxW: number, maxH: number): [number, number] {
  const fit = Math.min(maxW / w, maxH / h);
  const s = fit < 1 ? fit : Math.min(fit, Math.max(1, SMALL_UP_TO / Math.max(w, h)));
  return [Math.max(1, Math.round(w * s)), Math.max(1, Math.round(h * s))];
}

export class Lightbox {
  readonly el: HTMLElement;
  private readonly frame: HTMLElement;
  private readonly img: HTMLImageElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly caption: HTMLElement;
  private readonly note: HTMLElement;
  private item: ImageItem | null = null;
  private toggles: ClassToggles | null = null;
  private painter: MaskPainter | null = null;
  private size: [number, number] = [1, 1];
  private waitTimer = 0;
  private wait: HTMLElement | null = null;
  private readonly fullMasks = new Map<string, import("./png").ClassIds>();
  private readonly onKey = (e: KeyboardEvent): void => {
    if (e.key === "Escape") this.close();
  };

  constructor(
    private readonly store: MediaStore,
    private readonly masks: MaskIds,
  ) {
    this.el = document.createElement("div");
    this.el.className = "nbt-lightbox";
    this.el.hidden = true;
    this.el.tabIndex = -1;
    this.frame = document.createElement("div");
    this.frame.className = "nbt-lightbox-frame";
    this.img = document.createElement("img");
    this.img.alt = "";
    this.canvas = document.createElement("canvas");
    this.canvas.className = "nbt-media-overlay";
    this.frame.append(this.img, this.canvas);
    this.caption = document.createElement("div");
    this.caption.className = "nbt-lightbox-caption";
    this.note = document.createElement("div");
    this.note.className = "nbt-media-full-note";
    this.el.append(this.frame, this.caption, this.note);
    this.el.addEventListener("click", () => this.close());
  }

  get isOpen(): boolean {
    return !this.el.hidden;
  }

  open(item: ImageItem, toggles: ClassToggles): void {
    this.closeWait();
    this.item = item;
    this.toggles = toggles;
    this.painter = new MaskPainter(toggles);
    this.fullMasks.clear();
    const maxW = Math.max(100, window.innerWidth * 0.9);
    const maxH = Math.max(100, window.innerHeight * 0.82);
    this.size = lightboxSize(item.w, item.h, maxW, maxH);
    const [w, h] = this.size;
    this.img.style.width = `${w}px`;
    this.img.style.height = `${h}px`;
    this.img.dataset.name = item.thumb;
    this.img.src = this.store.url(item.thumb) ?? "";
    this.img.classList.toggle("nbt-pixelated", w > item.w);
    this.caption.textContent = item.caption ?? "";
    this.caption.hidden = !item.caption;
    this.note.textContent = "";
    this.note.hidden = true;
    this.canvas.hidden = !item.masks.length && !item.boxes.length;
    this.el.hidden = false;
    document.addEventListener("keydown", this.onKey);
    this.el.focus({ preventScroll: true });
    this.redraw();
    this.loadFull(item);
  }

  close(): void {
    if (this.el.hidden) return;
    this.el.hidden = true;
    this.item = null;
    this.closeWait();
    document.removeEventListener("keydown", this.onKey);
  }

  /** The toggles changed, or a mask came: draw again (only while open). */
  redraw(): void {
    const item = this.item;
    if (!item || !this.painter || !this.toggles || this.canvas.hidden) return;
    const masks = item.masks.map((m) => {
      const full = this.fullMasks.get(m.file);
      return { name: full ? m.file : m.thumb, set: m.name, ids: full ?? this.masks.get(m.thumb) };
    });
    drawOverlay(this.canvas, item, this.size[0], this.size[1], masks, this.painter, this.toggles);
    for (const m of item.masks) {
      if (!this.masks.settled(m.thumb)) void this.masks.whenReady(m.thumb).then(() => this.item === item && this.redraw());
    }
  }

  private loadFull(item: ImageItem): void {
    // Full masks too, where the host can give files (small ones: the thumb is the file).
    for (const m of item.masks) {
      if (m.file === m.thumb || !this.store.canLoad(m.file)) continue;
      void this.masks.whenReady(m.file).then((ids) => {
        if (ids && this.item === item) {
          this.fullMasks.set(m.file, ids);
          this.redraw();
        }
      });
    }
    if (item.file === item.thumb) return;
    const url = this.store.host.mediaUrl(item.file);
    if (this.store.has(item.file) || url) {
      this.showFull(item, (this.store.url(item.file) ?? url) as string);
      return;
    }
    if (!this.store.canLoad(item.file)) {
      this.setNote(this.store.host.noFullText ?? "Full size is not available here");
      return;
    }
    // The kernel: it answers once the running cell is done.
    this.waitTimer = window.setTimeout(() => {
      if (this.item !== item) return;
      this.wait = document.createElement("div");
      this.wait.className = "nbt-media-full-wait";
      this.wait.textContent = KERNEL_WAIT;
      this.el.insertBefore(this.wait, this.note);
    }, WAIT_MS);
    this.store.loadUrl(item.file).then(
      (u) => {
        if (this.item !== item) return;
        this.closeWait();
        this.showFull(item, u);
      },
      (err: unknown) => {
        if (this.item !== item) return;
        this.closeWait();
        this.setNote(`Full size could not be loaded: ${err instanceof Error ? err.message : String(err)}`);
      },
    );
  }

  private showFull(item: ImageItem, url: string): void {
    // Swapped in once decoded: the enlarged thumbnail stays until then.
    const full = new Image();
    full.onload = () => {
      if (this.item !== item) return;
      this.img.src = url;
      this.img.dataset.name = item.file;
      this.img.dataset.full = "1";
    };
    full.onerror = () => this.item === item && this.setNote("Full size could not be loaded");
    full.src = url;
  }

  private setNote(text: string): void {
    this.note.textContent = text;
    this.note.hidden = false;
  }

  private closeWait(): void {
    window.clearTimeout(this.waitTimer);
    this.waitTimer = 0;
    this.wait?.remove();
    this.wait = null;
  }

  destroy(): void {
    this.close();
    this.el.remove();
  }
}
