// Masks and boxes: class colours, the legend's per-class toggles and what they hide, and a
// mask PNG's class ids read exactly (8-bit and 16-bit grey, every scanline filter).

import { describe, expect, it } from "vitest";

import type { ImageItem } from "../protocol";
import { boxLabel, classColor, ClassToggles, colorMask, legendSets, MASK_ALPHA, toggleSet } from "./overlay";
import { decodeClassIds } from "./png";
import { gridSize, nextPosition } from "./image-panel";
import { lightboxSize } from "./lightbox";

const A = `${"a".repeat(64)}.png`;

function item(extra: Partial<ImageItem>): ImageItem {
  return { file: A, thumb: A, w: 2, h: 1, tw: 2, th: 1, caption: null, masks: [], boxes: [], ...extra };
}

describe("class toggles", () => {
  it("shows every class until unticked, per set, and counts changes", () => {
    const t = new ClassToggles();
    expect(t.shown("mask:seg", 1)).toBe(true);
    t.set("mask:seg", 1, false);
    expect(t.shown("mask:seg", 1)).toBe(false);
    expect(t.shown("mask:other", 1)).toBe(true);
    expect(t.version).toBe(1);
    t.set("mask:seg", 1, false); // no change
    expect(t.version).toBe(1);
    t.set("mask:seg", 1, true);
    expect(t.shown("mask:seg", 1)).toBe(true);
    expect(t.version).toBe(2);
  });

  it("colours a mask's pixels by class at 50% alpha, hidden classes transparent", () => {
    const mask = { w: 3, h: 1, ids: Uint16Array.from([0, 1, 2]) };
    const t = new ClassToggles();
    t.set("mask:seg", 1, false);
    const px = colorMask(mask, t.hiddenOf("mask:seg"));
    expect([...px.slice(0, 4)]).toEqual([...classColor(0), MASK_ALPHA]);
    expect([...px.slice(4, 8)]).toEqual([0, 0, 0, 0]);
    expect([...px.slice(8, 12)]).toEqual([...classColor(2), MASK_ALPHA]);
    expect(MASK_ALPHA).toBe(128);
    // Ticked again: drawn again.
    t.set("mask:seg", 1, true);
    expect([...colorMask(mask, t.hiddenOf("mask:seg")).slice(4, 8)]).toEqual([...classColor(1), MASK_ALPHA]);
  });

  it("gives each class its own colour, the same for any set", () => {
    expect(classColor(1)).not.toEqual(classColor(2));
    expect(classColor(3)).toEqual(classColor(23));
    expect(classColor(-1)).toEqual(classColor(19));
  });

  it("lists the legend's sets and classes: labels, and classes boxes use without one", () => {
    const items = [
      item({ masks: [{ name: "seg", file: A, thumb: A, labels: { 2: "dog", 1: "cat" } }] }),
      item({
        masks: [{ name: "seg", file: A, thumb: A, labels: { 3: "bird" } }],
        boxes: [{ name: "seg", labels: { 1: "cat" }, boxes: [{ x0: 0, y0: 0, x1: 1, y1: 1, class_id: 7, caption: null, scores: {} }] }],
      }),
    ];
    expect(legendSets(items)).toEqual([
      { set: "seg", kind: "mask", classes: [{ id: 1, label: "cat" }, { id: 2, label: "dog" }, { id: 3, label: "bird" }] },
      { set: "seg", kind: "box", classes: [{ id: 1, label: "cat" }, { id: 7, label: "class 7" }] },
    ]);
    // A mask set and a box set of one name toggle apart.
    expect(toggleSet("mask", "seg")).not.toBe(toggleSet("box", "seg"));
  });

  it("labels a box by its caption, else its class, with its scores", () => {
    const box = { x0: 0, y0: 0, x1: 1, y1: 1, class_id: 1, caption: null, scores: { acc: 0.912, n: 3 } };
    expect(boxLabel(box, { 1: "cat" })).toBe("cat (acc: 0.91, n: 3)");
    expect(boxLabel({ ...box, caption: "Tom", scores: {} }, { 1: "cat" })).toBe("Tom");
    expect(boxLabel({ ...box, class_id: 9, scores: {} }, {})).toBe("class 9");
  });
});

describe("image sizes and the slider", () => {
  it("enlarges small thumbnails by a whole factor, at most 4x", () => {
    expect(gridSize(28, 28)).toEqual([112, 112]);
    expect(gridSize(64, 32)).toEqual([128, 64]);
    expect(gridSize(128, 96)).toEqual([128, 96]);
    expect(gridSize(2, 2)).toEqual([8, 8]);
  });

  it("fits the lightbox to the window, enlarging small images", () => {
    expect(lightboxSize(28, 28, 1000, 800)).toEqual([512, 512]);
    expect(lightboxSize(2000, 1000, 1000, 800)).toEqual([1000, 500]);
    expect(lightboxSize(600, 400, 1000, 800)).toEqual([600, 400]); // fits: as it is
    expect(lightboxSize(100, 50, 1000, 800)).toEqual([512, 256]);
  });

  it("follows the newest entry only when it was shown", () => {
    expect(nextPosition([0, 4, 8, 9], 8, true)).toBe(3);
    expect(nextPosition([0, 4, 8, 9], 4, false)).toBe(1);
    // Thinned away: the nearest older one still held.
    expect(nextPosition([0, 4, 8], 6, false)).toBe(1);
    expect(nextPosition([0, 4], null, false)).toBe(1);
    expect(nextPosition([], 3, false)).toBe(-1);
  });
});

// -- PNG ------------------------------------------------------------------------------------

async function deflate(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as BlobPart]).stream().pipeThrough(new CompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  return out; // the CRC is not checked by the reader: left zero
}

/** A grey PNG of `rows` (ids), each scanline under `filter` (0-4), at 8 or 16 bits. */
async function greyPng(rows: number[][], depth: 8 | 16, filter: number): Promise<Uint8Array> {
  const h = rows.length;
  const w = rows[0]?.length ?? 0;
  const bpp = depth / 8;
  const stride = w * bpp;
  const raw = rows.map((r) => {
    const line = new Uint8Array(stride);
    r.forEach((v, x) => {
      if (depth === 16) {
        line[x * 2] = v >> 8;
        line[x * 2 + 1] = v & 255;
      } else line[x] = v;
    });
    return line;
  });
  const filtered = new Uint8Array(h * (stride + 1));
  raw.forEach((line, y) => {
    const prev = raw[y - 1] ?? new Uint8Array(stride);
    filtered[y * (stride + 1)] = filter;
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? (line[x - bpp] as number) : 0;
      const b = prev[x] as number;
      const c = x >= bpp ? (prev[x - bpp] as number) : 0;
      const pa = Math.abs(b - c);
      const pb = Math.abs(a - c);
      const pc = Math.abs(a + b - 2 * c);
      const pred = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][filter] as number;
      filtered[y * (stride + 1) + 1 + x] = ((line[x] as number) - pred) & 255;
    }
  });
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, w);
  dv.setUint32(4, h);
  ihdr[8] = depth;
  ihdr[9] = 0;
  const parts = [new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", ihdr), chunk("IDAT", await deflate(filtered)), chunk("IEND", new Uint8Array())];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

describe("mask PNGs", () => {
  const rows8 = [
    [0, 1, 2, 255],
    [3, 3, 0, 1],
    [250, 7, 7, 9],
  ];
  for (const filter of [0, 1, 2, 3, 4]) {
    it(`reads 8-bit grey class ids exactly (filter ${filter})`, async () => {
      const m = await decodeClassIds(await greyPng(rows8, 8, filter));
      expect([m.w, m.h]).toEqual([4, 3]);
      expect([...m.ids]).toEqual(rows8.flat());
    });
  }

  it("reads 16-bit grey class ids (PIL's I;16) without losing the low byte", async () => {
    const rows = [
      [0, 1, 300, 65535],
      [2, 2, 1000, 1],
    ];
    for (const filter of [0, 4]) {
      const m = await decodeClassIds(await greyPng(rows, 16, filter));
      expect([...m.ids]).toEqual(rows.flat());
    }
  });

  it("refuses what is not a PNG", async () => {
    await expect(decodeClassIds(new Uint8Array([1, 2, 3]))).rejects.toThrow("not a PNG");
  });
});
