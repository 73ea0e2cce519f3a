// The class ids of a mask PNG, read from its bytes. A mask is a PNG of class ids (PIL mode
// L: 8-bit grey, or I;16: 16-bit grey). Drawn onto a canvas and read back, a 16-bit PNG
// loses its low byte (class 1 reads as 0) and a colour profile may shift the greys; this
// reads the samples themselves: chunks, zlib (the browser's DecompressionStream), and the
// five scanline filters. No DOM (vitest runs it in Node).

export interface ClassIds {
  w: number;
  h: number;
  /** Row-major, one id a pixel: the first sample (grey, red, or the palette index). */
  ids: Uint16Array;
}

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

async function inflate(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as BlobPart]).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function u32(b: Uint8Array, i: number): number {
  return ((b[i] as number) << 24 | (b[i + 1] as number) << 16 | (b[i + 2] as number) << 8 | (b[i + 3] as number)) >>> 0;
}

/**
 * The class ids of a PNG; throws when the bytes are not a PNG this reads (interlaced, or
 * cut short).
 *
 * Example: a 2x1 8-bit grey PNG of [0, 3] gives `{ w: 2, h: 1, ids: Uint16Array [0, 3] }`.
 */
export async function decodeClassIds(png: Uint8Array): Promise<ClassIds> {
  if (png.length < 33 || SIGNATURE.some((v, i) => png[i] !== v)) throw new Error("not a PNG");
  let w = 0;
  let h = 0;
  let depth = 0;
  let colour = 0;
  let interlace = 0;
  const parts: Uint8Array[] = [];
  for (let i = 8; i + 8 <= png.length; ) {
    const len = u32(png, i);
    const type = String.fromCharCode(png[i + 4] as number, png[i + 5] as number, png[i + 6] as number, png[i + 7] as number);
    const data = png.subarray(i + 8, i + 8 + len);
    if (data.length < len) throw new Error("PNG cut short");
    if (type === "IHDR") {
      w = u32(data, 0);
      h = u32(data, 4);
      depth = data[8] as number;
      colour = data[9] as number;
      interlace = data[12] as number;
    } else if (type === "IDAT") {
      parts.push(data);
    } else if (type === "IEND") {
      break;
    }
    i += 12 + len;
  }
  const channels = CHANNELS[colour];
  if (!w || !h || !channels || interlace) throw new Error("a PNG this does not read (interlaced, or no header)");
  let total = 0;
  for (const p of parts) total += p.length;
  const z = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    z.set(p, o);
    o += p.length;
  }
  const raw = await inflate(z);
  const bitsPerPixel = channels * depth;
  const stride = Math.ceil((w * bitsPerPixel) / 8);
  const bpp = Math.max(1, bitsPerPixel >> 3);
  if (raw.length < h * (stride + 1)) throw new Error("PNG data cut short");
  const ids = new Uint16Array(w * h);
  let prev = new Uint8Array(stride);
  let line = new Uint8Array(stride);
  for (let y = 0; y < h; y++) {
    const f = raw[y * (stride + 1)] as number;
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? (line[x - bpp] as number) : 0;
      const b = prev[x] as number;
      const c = x >= bpp ? (prev[x - bpp] as number) : 0;
      const s = src[x] as number;
      let v: number;
      switch (f) {
        case 1: v = s + a; break;
        case 2: v = s + b; break;
        case 3: v = s + ((a + b) >> 1); break;
        case 4: {
          const p = a + b - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - b);
          const pc = Math.abs(p - c);
          v = s + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
          break;
        }
        default: v = s;
      } // prettier-ignore
      line[x] = v & 255;
    }
    const row = y * w;
    if (depth === 16) {
      for (let x = 0; x < w; x++) ids[row + x] = ((line[x * bpp] as number) << 8) | (line[x * bpp + 1] as number);
    } else if (depth === 8) {
      for (let x = 0; x < w; x++) ids[row + x] = line[x * bpp] as number;
    } else {
      // 1, 2 or 4 bits a sample (grey or palette: one channel).
      const perByte = 8 / depth;
      const mask = (1 << depth) - 1;
      for (let x = 0; x < w; x++) {
        const byte = line[Math.floor(x / perByte)] as number;
        ids[row + x] = (byte >> (8 - depth * ((x % perByte) + 1))) & mask;
      }
    }
    [prev, line] = [line, prev];
  }
  return { w, h, ids };
}
