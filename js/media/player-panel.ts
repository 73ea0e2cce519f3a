// Video, audio and html keys: one panel each, a step select when there are several entries.
// The files are not in the dashboard's messages (a small html file is): a standalone page
// loads them by the host's URL when the person plays them (preload none); in the notebook a
// "Load" button asks the kernel (answered when it is idle); an export has none of them.
// Html is shown in an iframe sandboxed to scripts only (no allow-same-origin: it cannot reach
// the page, its cookies or the kernel).

import type { AudioItem, HtmlItem, MediaEntry, VideoItem } from "../protocol";
import { panelEl, titleEl } from "./image-panel";
import type { KeyMedia, MediaStore } from "./store";
import { KERNEL_WAIT } from "./store";
import { StepSelect } from "./table-panel";

export class PlayerPanel {
  readonly el: HTMLElement;
  private readonly steps: StepSelect;
  private readonly body: HTMLElement;
  private shown: MediaEntry | null = null;

  constructor(
    private readonly km: KeyMedia,
    private readonly store: MediaStore,
  ) {
    this.el = panelEl(km.key, km.kind);
    const bar = document.createElement("div");
    bar.className = "nbt-media-bar";
    this.steps = new StepSelect(() => this.update());
    bar.append(titleEl(km.key), this.steps.el);
    this.body = document.createElement("div");
    this.body.className = "nbt-media-players";
    this.el.append(bar, this.body);
    this.update();
  }

  update(): void {
    const e = this.steps.update(this.km);
    if (!e || e === this.shown) return;
    this.shown = e;
    this.el.dataset.step = String(e.step);
    const p = e.payload;
    const items =
      p.kind === "video" ? p.items.map((v) => this.video(v))
      : p.kind === "audio" ? p.items.map((a) => this.audio(a))
      : p.kind === "html" ? p.items.map((h) => this.html(h))
      : []; // prettier-ignore
    this.body.replaceChildren(...items);
  }

  private figure(caption: string | null): { el: HTMLElement; note: HTMLElement } {
    const el = document.createElement("figure");
    el.className = "nbt-media-item nbt-media-player";
    const note = document.createElement("div");
    note.className = "nbt-media-full-note";
    note.hidden = true;
    el.append(note);
    if (caption) {
      const c = document.createElement("figcaption");
      c.className = "nbt-media-caption";
      c.textContent = caption;
      el.append(c);
    }
    return { el, note };
  }

  /**
   * Give `use` the file's URL: at once when the page has it or the host serves it; after a
   * click on "Load" when the kernel must send it; never (a note says so) in an export.
   */
  private withFile(name: string, f: { el: HTMLElement; note: HTMLElement }, use: (url: string) => void): void {
    const url = this.store.url(name);
    if (url) {
      use(url);
      return;
    }
    if (!this.store.canLoad(name)) {
      f.note.textContent = noFileText(this.store);
      f.note.hidden = false;
      return;
    }
    const b = document.createElement("button");
    b.className = "nbt-media-load";
    b.type = "button";
    b.textContent = "Load";
    b.title = "ask the kernel for the file (it answers when no cell is running)";
    b.addEventListener("click", () => {
      b.disabled = true;
      b.textContent = "Loading…";
      const timer = window.setTimeout(() => {
        f.note.textContent = KERNEL_WAIT.replace("Full size", "The file");
        f.note.hidden = false;
        f.note.classList.add("nbt-media-full-wait");
      }, 300);
      this.store.loadUrl(name).then(
        (u) => {
          window.clearTimeout(timer);
          f.note.hidden = true;
          f.note.classList.remove("nbt-media-full-wait");
          b.remove();
          use(u);
        },
        (err: unknown) => {
          window.clearTimeout(timer);
          f.note.classList.remove("nbt-media-full-wait");
          f.note.textContent = `The file could not be loaded: ${err instanceof Error ? err.message : String(err)}`;
          f.note.hidden = false;
          b.disabled = false;
          b.textContent = "Load";
        },
      );
    });
    f.el.prepend(b);
  }

  private video(v: VideoItem): HTMLElement {
    const f = this.figure(v.caption);
    f.el.dataset.name = v.file;
    const poster = v.thumb ? this.store.url(v.thumb) : null;
    if (v.format === "gif") {
      const img = document.createElement("img");
      img.alt = v.caption ?? "";
      img.dataset.name = v.file;
      if (v.w && v.h) {
        img.width = v.w;
        img.height = v.h;
      }
      if (poster) img.src = poster;
      f.el.prepend(img);
      this.withFile(v.file, f, (u) => {
        img.src = u;
      });
      return f.el;
    }
    const video = document.createElement("video");
    video.controls = true;
    video.preload = "none";
    video.dataset.name = v.file;
    if (poster) video.poster = poster;
    if (v.w && v.h) {
      video.width = Math.min(v.w, 480);
    }
    f.el.prepend(video);
    this.withFile(v.file, f, (u) => {
      video.src = u;
    });
    return f.el;
  }

  private audio(a: AudioItem): HTMLElement {
    const f = this.figure(a.caption);
    f.el.dataset.name = a.file;
    const audio = document.createElement("audio");
    audio.controls = true;
    audio.preload = "none";
    audio.dataset.name = a.file;
    f.el.prepend(audio);
    this.withFile(a.file, f, (u) => {
      audio.src = u;
    });
    return f.el;
  }

  private html(h: HtmlItem): HTMLElement {
    const f = this.figure(h.caption);
    f.el.dataset.name = h.file;
    const frame = document.createElement("iframe");
    frame.setAttribute("sandbox", "allow-scripts");
    frame.className = "nbt-media-html";
    frame.dataset.name = h.file;
    f.el.prepend(frame);
    const show = (bytes: Uint8Array): void => {
      frame.srcdoc = new TextDecoder().decode(bytes);
    };
    const have = this.store.cached(h.file);
    if (have) {
      show(have);
      return f.el;
    }
    if (!this.store.canLoad(h.file)) {
      f.note.textContent = noFileText(this.store);
      f.note.hidden = false;
      return f.el;
    }
    if (this.store.host.mediaUrl(h.file)) {
      void this.store.load(h.file).then(show, (err: unknown) => {
        f.note.textContent = `The html could not be loaded: ${err instanceof Error ? err.message : String(err)}`;
        f.note.hidden = false;
      });
      return f.el;
    }
    // The kernel: on a click, as the other files.
    const b = document.createElement("button");
    b.className = "nbt-media-load";
    b.type = "button";
    b.textContent = "Load";
    b.addEventListener("click", () => {
      b.disabled = true;
      this.store.load(h.file).then(
        (bytes) => {
          b.remove();
          show(bytes);
        },
        (err: unknown) => {
          b.disabled = false;
          f.note.textContent = `The html could not be loaded: ${err instanceof Error ? err.message : String(err)}`;
          f.note.hidden = false;
        },
      );
    });
    f.el.prepend(b);
    return f.el;
  }

  destroy(): void {}
}

/** Why a file cannot be had, in a player's words ("Full size ..." is the lightbox's). */
function noFileText(store: MediaStore): string {
  const t = store.host.noFullText;
  return t ? t.replace(/^Full size/, "The file") : "The file is not available here";
}
