// The Export button's writer (export.ts): it keeps what the Python writer keeps (the cases
// of tests/fixtures/export/cases.json, written by tests/export_fixtures.py from
// nbtrack/export.py), writes messages the page's decoders read back as they were, and a file
// whose parts are where and as the format says.

import { describe, expect, it } from "vitest";

import cases from "../tests/fixtures/export/cases.json";
import type { FeedMessage } from "./event-feed";
import {
  BOKEH_ID,
  BUCKETS,
  csp,
  DATA_ID,
  decodeEmbedded,
  encodeBase64,
  fileName,
  histogramsMessage,
  pointsMessage,
  reduceSeries,
  renderRun,
  scriptJson,
  scriptText,
  thinHistograms,
  WHOLE_POINTS,
} from "./export";
import type { HistogramEntry, HistogramMessage, JsonNumber, PointsMessage } from "./protocol";
import { decodeHistograms, decodePoints, parseNumber } from "./protocol";
import { SeriesStore } from "./series-store";

const num = (xs: (number | string)[]): number[] => xs.map((x) => parseNumber(x as JsonNumber));

function same(a: ArrayLike<number>, b: ArrayLike<number>): void {
  // toEqual tells NaN from NaN as equal, and -0 from 0 apart: compare as Python does.
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    if (Number.isNaN(x)) expect(y).toBeNaN();
    else expect(x === y, `at ${i}: ${x} !== ${y}`).toBe(true);
  }
}

function views(buffers: Uint8Array[]): DataView[] {
  // A copy each, as the page has them after base64 (its own buffer, aligned).
  return buffers.map((b) => new DataView(Uint8Array.from(b).buffer));
}

describe("reduceSeries keeps what nbtrack/export.py keeps", () => {
  for (const c of cases.series) {
    it(c.name, () => {
      const out = reduceSeries(c.steps, num(c.values), c.whole, c.buckets);
      same(out.steps, c.kept_steps);
      same(out.values, num(c.kept_values));
    });
  }

  it("keeps a long series' first point, last point and spike, in step order, within 4 a bucket", () => {
    const n = 100_000;
    const steps = Float64Array.from({ length: n }, (_, i) => i);
    const values = Float64Array.from({ length: n }, (_, i) => Math.sin(i / 500));
    values[77_777] = 50;
    const out = reduceSeries(steps, values);
    expect(n).toBeGreaterThan(WHOLE_POINTS);
    expect(out.steps.length).toBeLessThanOrEqual(4 * BUCKETS + 1);
    expect(out.steps[0]).toBe(0);
    expect(out.steps[out.steps.length - 1]).toBe(n - 1);
    expect(Math.max(...out.values)).toBe(50);
    expect(Math.min(...out.values)).toBe(Math.min(...values));
    for (let i = 1; i < out.steps.length; i++) expect(out.steps[i]).toBeGreaterThan(out.steps[i - 1] as number);
  });
});

describe("thinHistograms keeps what nbtrack/export.py keeps", () => {
  for (const [i, c] of cases.histograms.entries()) {
    it(`case ${i}`, () => {
      const entries: HistogramEntry[] = c.entries.map(([key, step]) => ({
        key: key as string,
        step: step as number,
        lo: 0,
        hi: 1,
        norm: null,
        nan: 0,
        inf: 0,
        counts: new Float64Array(1),
      }));
      const kept = thinHistograms(entries);
      expect(kept.map((e) => entries.indexOf(e))).toEqual(c.kept);
    });
  }
});

describe("the messages", () => {
  it("points come back as the store holds them, _time as float32 seconds since t0", () => {
    const store = new SeriesStore();
    store.ingest({
      t0: 1_700_000_000.5,
      series: [
        { key: "loss", steps: [0, 1, 2, 3], values: [1, NaN, Infinity, 0.25] },
        { key: "_time", steps: [0, 1, 2, 3], values: [0, 0.125, 0.25, 1.5] },
        { key: "val/acc", steps: [9, 19, 30], values: [0.5, 0.6, 0.7] },
        { key: "big", steps: [0, 2 ** 40, 2 ** 41 + 1], values: [1, 2, 3] },
      ],
    });
    const m = pointsMessage(store);
    expect(m).not.toBeNull();
    const msg = m?.content as unknown as PointsMessage;
    const back = decodePoints(msg, views(m?.buffers ?? []));
    expect(back.t0).toBe(1_700_000_000.5);
    const by = new Map(back.series.map((s) => [s.key, s]));
    same(by.get("loss")?.values ?? [], [1, NaN, Infinity, 0.25]);
    same(by.get("_time")?.values ?? [], [0, 0.125, 0.25, 1.5]);
    same(by.get("val/acc")?.steps ?? [], [9, 19, 30]);
    same(by.get("big")?.steps ?? [], [0, 2 ** 40, 2 ** 41 + 1]);
    const heads = new Map(msg.series.map((s) => [s.key, s]));
    expect(heads.get("loss")?.first).toBe(0); // evenly spaced: no steps buffer
    expect(heads.get("val/acc")?.steps).toBe("i32");
    expect(heads.get("big")?.steps).toBe("f64");
    expect(heads.get("_time")?.values).toBe("f32");
  });

  it("histograms come back as they were", () => {
    const entries: HistogramEntry[] = [
      { key: "w", step: 0, lo: -1, hi: 1, norm: 2.5, nan: 0, inf: 0, counts: Float64Array.of(1, 2, 3) },
      { key: "w", step: 100, lo: NaN, hi: Infinity, norm: null, nan: 3, inf: 1, counts: Float64Array.of(0, 0, 9) },
    ];
    const m = histogramsMessage(entries);
    const back = decodeHistograms(m?.content as unknown as HistogramMessage, views(m?.buffers ?? []));
    expect(back.map((e) => [e.key, e.step, e.norm, e.nan, e.inf])).toEqual([
      ["w", 0, 2.5, 0, 0],
      ["w", 100, null, 3, 1],
    ]);
    expect(back[1]?.lo).toBeNaN();
    expect(back[1]?.hi).toBe(Infinity);
    same(back[0]?.counts ?? [], [1, 2, 3]);
  });
});

describe("the file", () => {
  const text = renderRun({
    runId: "r1",
    title: '</script><script>alert(1)</script> & "q"',
    messages: [{ content: { type: "header", name: "</script><!--" }, buffers: [Uint8Array.of(1, 2, 255)] }],
    bokeh: { version: "3.9.2", gzip: [Uint8Array.of(31, 139), Uint8Array.of(31, 139, 8)] },
    bundle: 'const s = "</script><!-- </SCRIPT>"; export default s;',
  });

  function element(id: string): string {
    const m = new RegExp(`<script type="application/json" id="${id}">(.*?)</script>`, "s").exec(text);
    expect(m).not.toBeNull();
    return m?.[1] ?? "";
  }

  it("has one nonce, in its CSP and on its one script", () => {
    const nonce = /script-src &#x27;nonce-([0-9a-f]{32})&#x27;/.exec(text)?.[1];
    expect(nonce).toBeDefined();
    expect(text).toContain(`content="${csp(nonce as string).replace(/'/g, "&#x27;")}"`);
    expect(text.match(/<script type="module"/g)).toHaveLength(1);
    expect(text).toContain(`<script type="module" nonce="${nonce}" data-nbtrack-bundle>`);
  });

  it("closes every <script> where it opens one, and nothing ends one early", () => {
    expect(text.match(/<script/gi)?.length).toBe(text.match(/<\/script>/gi)?.length);
    expect(text).not.toContain("<!--");
    expect(text).toContain("<title>&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot; · nbtrack</title>");
  });

  it("holds the data and BokehJS in the event stream's format", () => {
    const data: FeedMessage[] = decodeEmbedded(element(DATA_ID), "data");
    expect(data[0]?.content).toEqual({ type: "header", name: "</script><!--" });
    expect(Array.from(new Uint8Array(data[0]?.buffers[0]?.buffer as ArrayBuffer))).toEqual([1, 2, 255]);
    const bokeh = decodeEmbedded(element(BOKEH_ID), "BokehJS");
    expect(bokeh[0]?.content).toEqual({ type: "bokeh", version: "3.9.2", files: ["bokeh.min.js", "bokeh-api.min.js"] });
    expect(bokeh[0]?.buffers.map((b) => b.byteLength)).toEqual([2, 3]);
    expect(text).toContain(`data-embedded="${DATA_ID}" data-bokeh="${BOKEH_ID}"`);
  });

  it("says what is wrong with a damaged element", () => {
    expect(() => decodeEmbedded("{", "data")).toThrow(/data is not JSON/);
    expect(() => decodeEmbedded('{"messages":[{"content":{}}]}', "data")).toThrow(/message 0 .* no content type/);
    expect(() => decodeEmbedded('{"messages":[{"content":{"type":"x"},"buffers":[1]}]}', "data")).toThrow(/not base64/);
  });
});

describe("escaping", () => {
  it("JSON has no < and parses back to the same", () => {
    const doc = { s: "</script><!-- \u2028 <b>" };
    const out = scriptJson(doc);
    expect(out).not.toContain("<");
    expect(JSON.parse(out)).toEqual(doc);
  });

  it("a module's text runs as before", () => {
    const src = 'return ["</script>", "<!--", `</SCRIPT ${"<!--"}`, /<\\/script>/.source, /<!--/.test("<!--")];';
    const safe = scriptText(src);
    expect(safe).not.toMatch(/<\/script|<!--/i);
    expect(new Function(safe)()).toEqual(new Function(src)());
  });

  it("base64 without the native encoder is the same", () => {
    const bytes = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 31) % 256);
    const plain = btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join(""));
    expect(encodeBase64(bytes, null)).toBe(plain);
    expect(encodeBase64(bytes)).toBe(plain);
  });

  it("a file name from a run's name", () => {
    expect(fileName("lr-1e-3")).toBe("lr-1e-3.html");
    expect(fileName("</script> ünï/../x")).toBe("script-uni-..-x.html");
    expect(fileName("///")).toBe("nbtrack-run.html");
  });
});
