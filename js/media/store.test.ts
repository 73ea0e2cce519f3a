// The page's side of the media wire: what a media message decodes to (the float object,
// checked fields), and what the page holds per key under the sender's thinning rule
// (media-contract "Dashboard wire"), with the kernel's full-file answers matched by id.

import { describe, expect, it } from "vitest";

import type { MediaEntry, MediaEntryHeader, MediaFileRequest } from "../protocol";
import { decodeFloats, decodeMedia, decodeMediaFile, decodeMediaPayload, decodeMediaThin, mediaMime } from "../protocol";
import type { MediaEvent } from "./store";
import { EXPORT_NO_FULL, mediaMessages, mediaOf, MediaStore, thumbNames } from "./store";

const NAME = (c: string, ext = "png"): string => `${c.repeat(64).slice(0, 64)}.${ext}`;
const A = NAME("a");
const B = NAME("b");
const M = NAME("c");

function imagePayload(thumb = A, extra: Record<string, unknown> = {}): { items: Record<string, unknown>[] } {
  return { items: [{ file: thumb, thumb, w: 28, h: 28, tw: 28, th: 28, caption: null, masks: [], boxes: [], ...extra }] };
}

function header(key: string, index: number, keep = true, step = index * 10): MediaEntryHeader {
  return { key, step, kind: "image", index, keep, payload: imagePayload() };
}

function dv(bytes: number[]): DataView {
  return new DataView(new Uint8Array(bytes).buffer);
}

let urls = 0;
const fakeUrl = (): string => `blob:test/${++urls}`;

function store(): MediaStore {
  return new MediaStore(fakeUrl);
}

function send(s: MediaStore, entries: MediaEntryHeader[], files: string[] = [], buffers: DataView[] = []): void {
  expect(s.handle({ type: "media", entries, files } as { type: string }, buffers)).toBe(true);
}

const indexes = (s: MediaStore, key: string): number[] => (s.keys.get(key)?.held() ?? []).map((e) => e.index);

describe("payload decoding", () => {
  it("reads the float object back as NaN and infinities, anywhere in a payload", () => {
    const raw = {
      a: [1, { _type: "float", value: "nan" }, { _type: "float", value: "inf" }],
      b: { c: { _type: "float", value: "-inf" } },
    };
    const out = decodeFloats(raw) as { a: number[]; b: { c: number } };
    expect(out.a[0]).toBe(1);
    expect(Number.isNaN(out.a[1])).toBe(true);
    expect(out.a[2]).toBe(Infinity);
    expect(out.b.c).toBe(-Infinity);
  });

  it("decodes a table with NaN cells, image cells and unknown types", () => {
    const p = decodeMediaPayload("table", {
      columns: ["x", "img", "odd"],
      types: ["number", "image", "what"],
      rows: 2,
      data: [
        [{ _type: "float", value: "nan" }, { _type: "image", ...imagePayload().items[0] }, "s"],
        [2.5, null, true],
      ],
    });
    expect(p.kind).toBe("table");
    if (p.kind !== "table") return;
    expect(p.table.types).toEqual(["number", "image", "mixed"]);
    expect(Number.isNaN(p.table.data[0]?.[0] as number)).toBe(true);
    expect(p.table.data[0]?.[1]).toMatchObject({ _type: "image", thumb: A, w: 28 });
    expect(p.table.data[1]).toEqual([2.5, null, true]);
  });

  it("drops image items without a valid file name and keeps masks and boxes checked", () => {
    const p = decodeMediaPayload("image", {
      items: [
        { file: "../../etc/passwd", thumb: "x.png" },
        {
          file: B, thumb: A, w: 200, h: 100, tw: 128, th: 64, caption: "cat",
          masks: [{ name: "seg", file: M, thumb: M, labels: { 1: "cat", 2: "dog" } }, { name: "bad", file: "nope" }],
          boxes: [{ name: "det", labels: { 1: "cat" }, boxes: [{ x0: 0.1, y0: 0.2, x1: 0.5, y1: 0.6, class_id: 1, caption: null, scores: { p: 0.9, bad: "x" } }] }],
        },
      ],
    }); // prettier-ignore
    if (p.kind !== "image") throw new Error(p.kind);
    expect(p.items).toHaveLength(1);
    const it0 = p.items[0];
    expect(it0).toMatchObject({ file: B, thumb: A, tw: 128, th: 64, caption: "cat" });
    expect(it0?.masks).toEqual([{ name: "seg", file: M, thumb: M, labels: { 1: "cat", 2: "dog" } }]);
    expect(it0?.boxes[0]?.boxes[0]?.scores).toEqual({ p: 0.9 });
  });

  it("decodes plots, video, audio and html; an unknown kind is unknown", () => {
    const plot = decodeMediaPayload("plot", {
      plot: "confusion_matrix", title: null, fields: { actual: "a", predicted: "p", count: "n" },
      classes: ["x", "y"], table: { columns: ["a", "p", "n"], types: ["string", "string", "number"], rows: 0, data: [] },
    }); // prettier-ignore
    expect(plot).toMatchObject({ kind: "plot", plot: { plot: "confusion_matrix", classes: ["x", "y"] } });
    const v = decodeMediaPayload("video", { items: [{ file: NAME("d", "gif"), format: "gif", w: 8, h: 8, fps: 4, frames: 3, thumb: A, tw: 8, th: 8 }] });
    expect(v).toMatchObject({ kind: "video", items: [{ format: "gif", fps: 4, thumb: A }] });
    const a = decodeMediaPayload("audio", { items: [{ file: NAME("e", "wav"), format: "wav", sample_rate: 16000, duration: { _type: "float", value: "nan" } }] });
    expect(a).toMatchObject({ kind: "audio", items: [{ sample_rate: 16000, duration: null }] });
    expect(decodeMediaPayload("html", { items: [{ file: NAME("f", "html"), bytes: 12 }] })).toMatchObject({ kind: "html", items: [{ bytes: 12 }] });
    expect(decodeMediaPayload("object3d", {})).toEqual({ kind: "unknown" });
  });

  it("pairs files with buffers and leaves out invalid names and entries", () => {
    const batch = decodeMedia(
      {
        type: "media",
        entries: [header("k", 0), { key: "k", kind: "image" } as unknown as MediaEntryHeader],
        files: [A, "not-a-name.png", B],
      },
      [dv([1, 2]), dv([3]), dv([4, 5, 6])],
    );
    expect(batch.entries).toHaveLength(1);
    expect(batch.files.map((f) => [f.name, [...f.bytes]])).toEqual([
      [A, [1, 2]],
      [B, [4, 5, 6]],
    ]);
  });

  it("reads thin messages and file replies", () => {
    expect(decodeMediaThin({ key: "k", stride: 4 })).toEqual({ key: "k", stride: 4 });
    expect(decodeMediaThin({ key: "k", stride: 0 })).toBeNull();
    const ok = decodeMediaFile({ id: 3, name: A, mime: "image/png", error: null }, [dv([9])]);
    expect(ok).toMatchObject({ id: 3, error: null, mime: "image/png" });
    expect([...(ok?.bytes ?? [])]).toEqual([9]);
    expect(decodeMediaFile({ id: 4, name: A, mime: "", error: "no such file" }, [])).toMatchObject({ error: "no such file", bytes: null });
    expect(mediaMime(NAME("a", "mp3"))).toBe("audio/mpeg");
  });
});

describe("what the page holds per key", () => {
  it("keeps entries in first-logged key order", () => {
    const s = store();
    send(s, [header("b", 0), header("a", 0), header("b", 1)]);
    expect(s.order).toEqual(["b", "a"]);
    expect(indexes(s, "b")).toEqual([0, 1]);
  });

  it("drops off-stride entries on media-thin, as the sender does", () => {
    const s = store();
    send(s, Array.from({ length: 65 }, (_, i) => header("k", i)));
    expect(s.handle({ type: "media-thin", key: "k", stride: 2 } as { type: string }, [])).toBe(true);
    const held = indexes(s, "k");
    expect(held).toHaveLength(33);
    expect(held.every((i) => i % 2 === 0)).toBe(true);
    s.handle({ type: "media-thin", key: "k", stride: 4 } as { type: string }, []);
    expect(indexes(s, "k")).toEqual(Array.from({ length: 17 }, (_, i) => i * 4));
    expect(s.keys.get("k")?.stride).toBe(4);
  });

  it("shows an off-stride newest entry last, replaced by a newer one, dropped by a kept one", () => {
    const s = store();
    send(s, [header("k", 0), header("k", 2)]);
    send(s, [header("k", 3, false)]);
    expect(indexes(s, "k")).toEqual([0, 2, 3]);
    send(s, [header("k", 5, false)]);
    expect(indexes(s, "k")).toEqual([0, 2, 5]);
    // An older keep:false never moves the last position back.
    send(s, [header("k", 4, false)]);
    expect(indexes(s, "k")).toEqual([0, 2, 5]);
    send(s, [header("k", 6)]);
    expect(indexes(s, "k")).toEqual([0, 2, 6]);
    expect(s.keys.get("k")?.latest).toBeNull();
  });

  it("places an entry resent out of order once", () => {
    const s = store();
    send(s, [header("k", 0), header("k", 4)]);
    send(s, [header("k", 2), header("k", 4)]);
    expect(indexes(s, "k")).toEqual([0, 2, 4]);
  });

  it("tells its listeners which keys changed", () => {
    const s = store();
    const seen: unknown[] = [];
    s.listen((e) => seen.push(e));
    send(s, [header("a", 0), header("b", 0), header("a", 1)], [A], [dv([1])]);
    s.handle({ type: "media-thin", key: "a", stride: 2 } as { type: string }, []);
    s.handle({ type: "media-thin", key: "zzz", stride: 2 } as { type: string }, []);
    expect(seen).toEqual([
      { kind: "files", names: [A] },
      { kind: "entries", keys: ["a", "b"] },
      { kind: "thin", key: "a" },
    ]);
  });

  it("is not a media message: left to the run state", () => {
    expect(store().handle({ type: "points" }, [])).toBe(false);
  });

  it("is one store per run state", () => {
    const state = {};
    expect(mediaOf(state)).toBe(mediaOf(state));
    expect(mediaOf({})).not.toBe(mediaOf(state));
  });
});

describe("files", () => {
  it("gives the bytes it was sent an object URL, once; else the host's URL", () => {
    const s = store();
    send(s, [header("k", 0)], [A], [dv([1, 2, 3])]);
    const u = s.url(A);
    expect(u).toMatch(/^blob:test\//);
    expect(s.url(A)).toBe(u);
    expect(s.url(B)).toBeNull();
    s.host = { mediaUrl: (n) => `/media/${n}` };
    expect(s.url(B)).toBe(`/media/${B}`);
    expect(s.canLoad(B)).toBe(true);
  });

  it("fetches an image entry's thumbnails at once where files load by URL", async () => {
    const fetched: string[] = [];
    const real = globalThis.fetch;
    globalThis.fetch = ((url: string) => {
      fetched.push(url);
      return Promise.resolve(new Response(new Uint8Array([9, 9])));
    }) as typeof fetch;
    try {
      const s = store();
      s.host = { mediaUrl: (n) => `/media/${n}` };
      const events: MediaEvent[] = [];
      s.listen((e) => events.push(e));
      send(s, [header("k", 0)], [], []);
      expect(fetched).toEqual([`/media/${A}`]);
      expect(s.url(A)).toBeNull(); // an <img> waits for the fetch rather than loading it too
      await s.load(A);
      await Promise.resolve(); // the "files" event goes once the fetches of this task are in
      expect(events.filter((e) => e.kind === "files")).toEqual([{ kind: "files", names: [A] }]);
      expect(s.cached(A)).toEqual(new Uint8Array([9, 9]));
      expect(s.url(A)).toMatch(/^blob:test\//); // scrubbing swaps object URLs from now on
      send(s, [header("k", 1)], [], []); // the same thumbnail again: not fetched twice
      expect(fetched).toHaveLength(1);
    } finally {
      globalThis.fetch = real;
    }
  });

  it("asks the kernel for a full file and matches its answer by id", async () => {
    const s = store();
    const sent: MediaFileRequest[] = [];
    s.host = { mediaUrl: () => null, send: (r) => sent.push(r) };
    const first = s.load(A);
    const again = s.load(A); // the same request, not a second one
    const other = s.load(B);
    expect(sent.map((r) => r.name)).toEqual([A, B]);
    expect(new Set(sent.map((r) => r.id)).size).toBe(2);
    const [ra, rb] = sent as [MediaFileRequest, MediaFileRequest];
    // The answers come in any order; an unknown id is ignored.
    s.handle({ type: "media-file", id: 999, name: A, mime: "image/png", error: null } as { type: string }, [dv([0])]);
    s.handle({ type: "media-file", id: rb.id, name: B, mime: "", error: "no such file" } as { type: string }, []);
    s.handle({ type: "media-file", id: ra.id, name: A, mime: "image/png", error: null } as { type: string }, [dv([7, 8])]);
    expect([...(await first)]).toEqual([7, 8]);
    expect(await again).toBe(await first);
    await expect(other).rejects.toThrow("no such file");
    // Kept: asked again, it is there at once, with no request.
    expect([...(await s.load(A))]).toEqual([7, 8]);
    expect(sent).toHaveLength(2);
    expect(s.url(A)).toMatch(/^blob:/);
  });

  it("says a full file is not in an export", async () => {
    const s = store();
    expect(s.canLoad(A)).toBe(false);
    await expect(s.load(A)).rejects.toThrow(EXPORT_NO_FULL);
  });
});

describe("the export's media message", () => {
  it("writes every held entry as it came, with the thumbnails the page has", () => {
    const s = store();
    const nan = { _type: "float", value: "nan" };
    const table = { key: "t", step: 3, kind: "table", index: 0, keep: true,
      payload: { columns: ["v", "img"], types: ["number", "image"], rows: 1, data: [[nan, { _type: "image", ...imagePayload(B).items[0] }]] } }; // prettier-ignore
    send(s, [header("k", 0), header("k", 1, false), table], [A, B], [dv([1]), dv([2])]);
    const [msg, ...rest] = mediaMessages(s);
    expect(rest).toEqual([]);
    const content = msg?.content as unknown as { entries: MediaEntryHeader[]; files: string[] };
    expect(content.entries.map((e) => [e.key, e.index, e.keep])).toEqual([
      ["k", 0, true],
      ["k", 1, false],
      ["t", 0, true],
    ]);
    expect(content.entries[2]?.payload).toEqual(table.payload);
    expect(content.files).toEqual([A, B]);
    // Read back, it is the same media.
    const again = store();
    again.handle(msg?.content ?? {}, (msg?.buffers ?? []).map((b) => new DataView(b.buffer, b.byteOffset, b.byteLength)));
    expect(again.order).toEqual(["k", "t"]);
    expect(indexes(again, "k")).toEqual([0, 1]);
    expect([...(again.cached(B) ?? [])]).toEqual([2]);
  });

  it("is nothing without media", () => {
    expect(mediaMessages(store())).toEqual([]);
  });

  it("names an entry's thumbnails, mask thumbnails and small html files", () => {
    const e = (kind: string, payload: unknown): MediaEntry => ({
      key: "k", step: 0, kind, index: 0, keep: true, payload: decodeMediaPayload(kind, payload), raw: payload,
    }); // prettier-ignore
    expect(thumbNames(e("image", imagePayload(A, { masks: [{ name: "m", file: M, thumb: M, labels: {} }] })))).toEqual([A, M]);
    expect(thumbNames(e("html", { items: [{ file: NAME("f", "html"), bytes: 3 }] }))).toEqual([NAME("f", "html")]);
    expect(thumbNames(e("audio", { items: [{ file: NAME("e", "wav") }] }))).toEqual([]);
  });
});

describe("the standalone page's media URL", () => {
  it("fills the data-media-url template's {name} with a valid name only", async () => {
    const { pageMediaHost } = await import("../page");
    const h = pageMediaHost("/api/v1/runs/abc/media/{name}");
    expect(h.mediaUrl(A)).toBe(`/api/v1/runs/abc/media/${A}`);
    expect(h.mediaUrl("../secret.png")).toBeNull();
    const none = pageMediaHost(undefined, EXPORT_NO_FULL);
    expect(none.mediaUrl(A)).toBeNull();
    expect(none.noFullText).toBe(EXPORT_NO_FULL);
    // A template without {name} names no file.
    expect(pageMediaHost("/media/").mediaUrl(A)).toBeNull();
  });
});
