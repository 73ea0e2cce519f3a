// What a dashboard holds of a run's media: per key, the entries the sender kept (its
// thinning rule, media-contract "Dashboard wire"), the newest off-stride entry shown as the
// last slider position, and the bytes of every file the page was sent, by name. No DOM here
// beyond URL.createObjectURL (vitest runs it in Node).
//
// Kept per run state, not per view, for the reason RunState is (run-state.ts): a view may be
// dropped and drawn again, and must show what came before it. The hosts (widget.ts, page.ts)
// pass it the media messages RunState does not know; `mediaOf(state)` finds it.
//
// Files are never dropped while the page lives: the sender sends a file once per page (the
// same image twice is sent once), so a thumbnail dropped with a thinned entry could be named
// again by a later one and never come back. The contract bounds them (1,000 steps x 16 small
// images send well under 2 MB).

import type {
  MediaEntry,
  MediaEntryHeader,
  MediaFileBytes,
  MediaFileMessage,
  MediaFileReply,
  MediaFileRequest,
  MediaMessage,
  MediaThinMessage,
} from "../protocol";
import {
  decodeMedia,
  decodeMediaFile,
  decodeMediaThin,
  encodeMedia,
  mediaFileRequest,
  mediaMime,
} from "../protocol";

/** One key's entries as the page holds them. */
export class KeyMedia {
  /** The kept entries (keep: true), in index order. */
  readonly kept: MediaEntry[] = [];
  /** The newest entry off the stride (keep: false): the last position until the next. */
  latest: MediaEntry | null = null;
  stride = 1;

  constructor(
    readonly key: string,
    readonly kind: string,
  ) {}

  /** What the slider goes over: the kept entries, then the off-stride newest. */
  held(): MediaEntry[] {
    return this.latest ? [...this.kept, this.latest] : this.kept.slice();
  }

  get length(): number {
    return this.kept.length + (this.latest ? 1 : 0);
  }

  /** The entry at slider position `i` (see `held`), without copying the list. */
  at(i: number): MediaEntry | undefined {
    return i < this.kept.length ? this.kept[i] : i === this.kept.length ? (this.latest ?? undefined) : undefined;
  }

  add(e: MediaEntry): void {
    if (!e.keep) {
      // Only a newer one replaces it: a late, older entry would move the slider back.
      const newest = this.kept[this.kept.length - 1];
      if (newest && newest.index >= e.index) return;
      if (!this.latest || this.latest.index <= e.index) this.latest = e;
      return;
    }
    if (this.latest && this.latest.index <= e.index) this.latest = null;
    const last = this.kept[this.kept.length - 1];
    if (!last || last.index < e.index) {
      this.kept.push(e);
      return;
    }
    // Out of order (a resent entry after a reconnect): in its place, once.
    const at = this.kept.findIndex((k) => k.index >= e.index);
    if (this.kept[at]?.index === e.index) this.kept[at] = e;
    else this.kept.splice(at, 0, e);
  }

  /** The sender's stride doubled: keep the entries on it. */
  thin(stride: number): void {
    this.stride = stride;
    let j = 0;
    for (const e of this.kept) if (e.index % stride === 0) this.kept[j++] = e;
    this.kept.length = j;
  }
}

export type MediaEvent =
  | { kind: "entries"; keys: string[] }
  | { kind: "thin"; key: string }
  | { kind: "files"; names: string[] };

type MakeUrl = (bytes: Uint8Array, mime: string) => string;

const defaultUrl: MakeUrl = (bytes, mime) => URL.createObjectURL(new Blob([bytes as BlobPart], { type: mime }));

/** What a page does to get a file the store does not have. */
export interface MediaHost {
  /**
   * Where a file loads from by URL (server page, share page, `nbtrack ui`); null where it
   * does not (the notebook, an export).
   */
  mediaUrl(name: string): string | null;
  /** Ask the kernel for a file (the notebook): it answers through the store's `handle`. */
  send?(req: MediaFileRequest): void;
  /** Shown when there is no way to a full file (an export). */
  noFullText?: string;
}

export const EXPORT_NO_FULL = "Full size is not in the exported file";
export const KERNEL_WAIT = "Full size waits for the kernel: it is busy running a cell";

interface Pending {
  name: string;
  resolve: (bytes: Uint8Array) => void;
  reject: (err: Error) => void;
}

export class MediaStore {
  readonly keys = new Map<string, KeyMedia>();
  /** Keys in first-logged order. */
  readonly order: string[] = [];
  private readonly bytes = new Map<string, Uint8Array>();
  private readonly urls = new Map<string, string>();
  private readonly listeners = new Set<(e: MediaEvent) => void>();
  private readonly pending = new Map<number, Pending>();
  private readonly inFlight = new Map<string, Promise<Uint8Array>>();
  /** Thumbnails `prefetch` is fetching: shown once they come, not loaded a second way. */
  private readonly prefetching = new Set<string>();
  /** Names fetched since the last "files" event (one event a task for many). */
  private cameNames: string[] = [];
  private nextId = 1;
  /** Set by the host (widget.ts, page.ts); the export's when none is. */
  host: MediaHost = { mediaUrl: () => null, noFullText: EXPORT_NO_FULL };

  constructor(private readonly makeUrl: MakeUrl = defaultUrl) {}

  listen(fn: (e: MediaEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** A media, media-thin or media-file message; true when it was one. */
  handle(msg: { type?: string }, buffers: DataView[]): boolean {
    switch (msg.type) {
      case "media": {
        const batch = decodeMedia(msg as Partial<MediaMessage>, buffers);
        this.putFiles(batch.files);
        this.addEntries(batch.entries);
        return true;
      }
      case "media-thin": {
        const t = decodeMediaThin(msg as Partial<MediaThinMessage>);
        const km = t && this.keys.get(t.key);
        if (t && km) {
          km.thin(t.stride);
          this.emit({ kind: "thin", key: t.key });
        }
        return true;
      }
      case "media-file": {
        const r = decodeMediaFile(msg as Partial<MediaFileMessage>, buffers);
        if (r) this.answer(r);
        return true;
      }
      default:
        return false;
    }
  }

  addEntries(entries: MediaEntry[]): void {
    const keys: string[] = [];
    for (const e of entries) {
      let km = this.keys.get(e.key);
      if (!km) {
        km = new KeyMedia(e.key, e.kind);
        this.keys.set(e.key, km);
        this.order.push(e.key);
      }
      km.add(e);
      if (!keys.includes(e.key)) keys.push(e.key);
    }
    this.prefetch(entries);
    if (keys.length) this.emit({ kind: "entries", keys });
  }

  /**
   * On a page that loads files by URL (server, share link, `nbtrack ui`), fetch the new
   * image entries' thumbnails its stream did not carry into the byte cache at once, as the
   * others came: a slider scrubbed later then swaps object URLs, where it would otherwise
   * start (and cancel) a request for every image at every frame, and show none. Until one
   * comes `url` gives null for it (an <img> loading it too would compete with the fetches),
   * and a "files" event says when it has come. Images only: a table's cell thumbnails load
   * as their rows are shown.
   */
  private prefetch(entries: MediaEntry[]): void {
    for (const e of entries) {
      if (e.payload.kind !== "image") continue;
      for (const n of thumbNames(e)) {
        if (this.bytes.has(n) || this.inFlight.has(n) || this.host.mediaUrl(n) === null) continue;
        this.prefetching.add(n);
        const came = (): void => {
          this.prefetching.delete(n);
          this.came(n);
        };
        this.load(n).then(came, came); // failed: the element loads the URL itself
      }
    }
  }

  private came(name: string): void {
    if (!this.cameNames.length) {
      queueMicrotask(() => {
        const names = this.cameNames;
        this.cameNames = [];
        this.emit({ kind: "files", names });
      });
    }
    this.cameNames.push(name);
  }

  putFiles(files: MediaFileBytes[]): void {
    for (const f of files) this.bytes.set(f.name, f.bytes);
    if (files.length) this.emit({ kind: "files", names: files.map((f) => f.name) });
  }

  has(name: string): boolean {
    return this.bytes.has(name);
  }

  /** The bytes of a file the page was sent (or fetched); null when it has not them. */
  cached(name: string): Uint8Array | null {
    return this.bytes.get(name) ?? null;
  }

  /**
   * Where an <img>, <video> or <audio> loads `name` from: an object URL of the bytes the page
   * has, else the host's URL; null when neither (ask with `load`).
   */
  url(name: string): string | null {
    let u = this.urls.get(name);
    if (u) return u;
    const b = this.bytes.get(name);
    if (b) {
      u = this.makeUrl(b, mediaMime(name));
      this.urls.set(name, u);
      return u;
    }
    return name && !this.prefetching.has(name) ? this.host.mediaUrl(name) : null;
  }

  /** True when a full file can be had at all (cached, by URL, or from the kernel). */
  canLoad(name: string): boolean {
    return this.bytes.has(name) || this.host.mediaUrl(name) !== null || this.host.send !== undefined;
  }

  /**
   * The bytes of `name`: the page's, else fetched from the host's URL, else asked of the
   * kernel (answered once it is idle). Rejects with the reason when there is no way to them.
   */
  load(name: string): Promise<Uint8Array> {
    const have = this.bytes.get(name);
    if (have) return Promise.resolve(have);
    let p = this.inFlight.get(name);
    if (p) return p;
    const url = this.host.mediaUrl(name);
    const send = this.host.send;
    if (url) {
      p = fetch(url, { credentials: "same-origin" }).then(async (resp) => {
        if (!resp.ok) throw new Error(`${resp.status} ${resp.statusText}`);
        return new Uint8Array(await resp.arrayBuffer());
      });
    } else if (send) {
      const id = this.nextId++;
      p = new Promise<Uint8Array>((resolve, reject) => this.pending.set(id, { name, resolve, reject }));
      send(mediaFileRequest(id, name));
    } else {
      return Promise.reject(new Error(this.host.noFullText ?? EXPORT_NO_FULL));
    }
    const done = p.then(
      (bytes) => {
        this.inFlight.delete(name);
        this.bytes.set(name, bytes);
        return bytes;
      },
      (err: unknown) => {
        this.inFlight.delete(name);
        throw err instanceof Error ? err : new Error(String(err));
      },
    );
    this.inFlight.set(name, done);
    return done;
  }

  /** `load`, as a URL an element can show. */
  async loadUrl(name: string): Promise<string> {
    const u = this.url(name);
    if (u) return u;
    await this.load(name);
    return this.url(name) as string;
  }

  private answer(r: MediaFileReply): void {
    const p = this.pending.get(r.id);
    if (!p) return;
    this.pending.delete(r.id);
    if (r.bytes) p.resolve(r.bytes);
    else p.reject(new Error(r.error ?? `no bytes for ${p.name}`));
  }

  private emit(e: MediaEvent): void {
    for (const fn of this.listeners) fn(e);
  }

  destroy(): void {
    for (const u of this.urls.values()) if (u.startsWith("blob:")) URL.revokeObjectURL(u);
    this.urls.clear();
  }
}

const stores = new WeakMap<object, MediaStore>();

/**
 * The media of a run state (RunState: one per widget model, or per page): made on first
 * use. Keyed by the state object, so a second view of the same model finds the same media.
 */
export function mediaOf(state: object): MediaStore {
  let s = stores.get(state);
  if (!s) {
    s = new MediaStore();
    stores.set(state, s);
  }
  return s;
}

/** Media messages of a store again, as an export writes them (every held entry, all the
 *  thumbnail bytes the page has that they name; no full files). */
export function mediaMessages(
  store: MediaStore,
): { content: Record<string, unknown> & { type: string }; buffers: Uint8Array[] }[] {
  const entries: MediaEntryHeader[] = [];
  const files: { name: string; bytes: Uint8Array }[] = [];
  const seen = new Set<string>();
  for (const key of store.order) {
    const km = store.keys.get(key);
    if (!km) continue;
    for (const e of km.held()) {
      entries.push({ key: e.key, step: e.step, kind: e.kind, index: e.index, keep: e.keep, payload: e.raw });
      for (const n of thumbNames(e)) {
        const bytes = store.cached(n);
        if (seen.has(n) || !bytes) continue;
        seen.add(n);
        files.push({ name: n, bytes });
      }
    }
  }
  if (!entries.length) return [];
  const m = encodeMedia(entries, files);
  return [{ content: { ...m.content }, buffers: m.buffers }];
}

/** The files of an entry the page is sent with it: thumbnails, and html files. */
export function thumbNames(e: MediaEntry): string[] {
  const p = e.payload;
  const out: string[] = [];
  const img = (i: { thumb: string; masks: { thumb: string }[] }): void => {
    out.push(i.thumb);
    for (const m of i.masks) out.push(m.thumb);
  };
  switch (p.kind) {
    case "image":
      p.items.forEach(img);
      break;
    case "table":
      for (const row of p.table.data) for (const c of row) if (c && typeof c === "object") img(c);
      break;
    case "video":
      for (const v of p.items) if (v.thumb) out.push(v.thumb);
      break;
    case "html":
      for (const h of p.items) out.push(h.file);
      break;
    default:
      break;
  }
  return out;
}
