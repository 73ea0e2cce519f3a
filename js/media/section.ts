// The dashboard's Media section (`.nbt-media`): one panel a key, in first-logged order,
// below the charts; hidden while the run has no media. Everything here runs in the page:
// slider, toggles, sort, filter and lightbox keep working while a cell runs. Only a full
// file may need the kernel (the store asks it; see store.ts).

import type { BokehNS } from "../bokeh-loader";
import { ImagePanel } from "./image-panel";
import { Lightbox } from "./lightbox";
import { MaskIds } from "./masks";
import { PlayerPanel } from "./player-panel";
import { PlotPanel } from "./plot-panel";
import type { KeyMedia, MediaEvent, MediaStore } from "./store";
import { TablePanel } from "./table-panel";

interface Panel {
  el: HTMLElement;
  update(): void;
  destroy(): void;
}

export class MediaSection {
  private readonly details: HTMLDetailsElement;
  private readonly count: HTMLElement;
  private readonly body: HTMLElement;
  private readonly panels = new Map<string, Panel>();
  private readonly masks: MaskIds;
  private readonly lightbox: Lightbox;
  private readonly unlisten: () => void;
  private Bokeh: BokehNS = null;

  constructor(
    readonly el: HTMLElement,
    private readonly store: MediaStore,
  ) {
    el.classList.add("nbt-media");
    el.hidden = true; // until the first entry
    this.details = document.createElement("details");
    this.details.open = true;
    const summary = document.createElement("summary");
    summary.textContent = "Media ";
    this.count = document.createElement("span");
    this.count.className = "nbt-section-count";
    summary.append(this.count);
    this.body = document.createElement("div");
    this.body.className = "nbt-media-body";
    this.details.append(summary, this.body);
    this.masks = new MaskIds(store);
    this.lightbox = new Lightbox(store, this.masks);
    el.replaceChildren(this.details, this.lightbox.el);
    this.unlisten = store.listen((e) => this.onEvent(e));
    this.sync(store.order);
  }

  /** BokehJS is here: the plot panels draw. */
  setBokeh(B: BokehNS): void {
    this.Bokeh = B;
    for (const p of this.panels.values()) if (p instanceof PlotPanel) p.setBokeh(B);
  }

  private onEvent(e: MediaEvent): void {
    switch (e.kind) {
      case "entries":
        this.sync(e.keys);
        break;
      case "thin":
        this.panels.get(e.key)?.update();
        break;
      case "files": {
        const names = new Set(e.names);
        for (const p of this.panels.values()) if (p instanceof ImagePanel) p.filesCame(names);
        break;
      }
    }
  }

  private sync(keys: readonly string[]): void {
    for (const key of keys) {
      const have = this.panels.get(key);
      if (have) {
        have.update();
        continue;
      }
      const km = this.store.keys.get(key);
      if (!km) continue;
      const panel = this.make(km);
      this.panels.set(key, panel);
      // First-logged order: the store's, whatever order the keys of one message come in.
      const next = this.store.order.slice(this.store.order.indexOf(key) + 1).find((k) => this.panels.has(k));
      const before = next ? this.panels.get(next)?.el : null;
      if (before) this.body.insertBefore(panel.el, before);
      else this.body.append(panel.el);
    }
    const n = this.panels.size;
    this.count.textContent = String(n);
    this.el.hidden = n === 0;
  }

  private make(km: KeyMedia): Panel {
    switch (km.kind) {
      case "image":
        return new ImagePanel(km, this.store, this.masks, this.lightbox);
      case "table":
        return new TablePanel(km, this.store, this.lightbox);
      case "plot": {
        const p = new PlotPanel(km);
        if (this.Bokeh) p.setBokeh(this.Bokeh);
        return p;
      }
      default:
        return new PlayerPanel(km, this.store);
    }
  }

  destroy(): void {
    this.unlisten();
    this.lightbox.destroy();
    for (const p of this.panels.values()) p.destroy();
  }
}
