// The fixture Python encodes (tests/fixtures/protocol/, written by tests/protocol_helpers.py
// and checked against nbtrack/widget/_protocol.py by tests/test_protocol.py), decoded here.

import { describe, expect, it } from "vitest";

import header from "../tests/fixtures/protocol/header.json";
import headerSync from "../tests/fixtures/protocol/header_sync.json";
import histograms from "../tests/fixtures/protocol/histograms.json";
import overview from "../tests/fixtures/protocol/overview.json";
import points from "../tests/fixtures/protocol/points.json";
import type { HeaderMessage, HistogramMessage, OverviewMessage, PointsMessage } from "./protocol";
import {
  decodeHeader,
  decodeHistograms,
  decodeOverview,
  decodePoints,
  parseNumber,
} from "./protocol";

const T0 = 1_700_000_000.25;

function bytes(b64: string): Uint8Array {
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

/**
 * The buffers as the comm hands them over: DataViews into one larger ArrayBuffer, each at
 * `pad` bytes past an 8-byte boundary (1 tests the copy for unaligned buffers).
 */
function views(buffers: string[], pad: number): DataView[] {
  const parts = buffers.map(bytes);
  const starts: number[] = [];
  let size = 0;
  for (const p of parts) {
    size = Math.ceil(size / 8) * 8 + pad;
    starts.push(size);
    size += p.length;
  }
  const all = new Uint8Array(size);
  return parts.map((p, i) => {
    const at = starts[i] as number;
    all.set(p, at);
    return new DataView(all.buffer, at, p.length);
  });
}

function byKey(pad: number): Map<string, { steps: number[]; values: number[] }> {
  const decoded = decodePoints(points.content as PointsMessage, views(points.buffers, pad));
  expect(decoded.t0).toBe(T0);
  return new Map(
    decoded.series.map((s) => [s.key, { steps: Array.from(s.steps), values: Array.from(s.values) }]),
  );
}

describe("parseNumber", () => {
  it("reads the strings that stand for non-finite numbers", () => {
    expect(parseNumber(0.5)).toBe(0.5);
    expect(parseNumber("nan")).toBeNaN();
    expect(parseNumber("inf")).toBe(Infinity);
    expect(parseNumber("-inf")).toBe(-Infinity);
  });
});

describe.each([0, 1])("a points message from Python (buffers %i bytes past alignment)", (pad) => {
  it("has every key, in order", () => {
    expect([...byKey(pad).keys()]).toEqual(["even", "uneven", "large", "single", "_time"]);
  });

  it("keeps NaN and infinities as they are", () => {
    const even = byKey(pad).get("even")!;
    expect(even.values).toEqual([1.5, NaN, Infinity, -Infinity]);
    expect(byKey(pad).get("uneven")!.values).toEqual([-Infinity, Infinity, NaN, 1.5]);
  });

  it("gives steps exactly: evenly spaced, int32, and past int32", () => {
    const s = byKey(pad);
    expect(s.get("even")!.steps).toEqual([10, 15, 20, 25]);
    expect(s.get("uneven")!.steps).toEqual([0, 1, 5, 2 ** 31 - 1]);
    expect(s.get("large")!.steps).toEqual([0, 3, 2 ** 40, Number.MAX_SAFE_INTEGER]);
    expect(s.get("single")!.steps).toEqual([7]);
    expect(s.get("single")!.values).toEqual([0.875]);
  });

  it("keeps float64 values bit for bit", () => {
    const large = byKey(pad).get("large")!.values;
    expect(large).toEqual([0, -0, 1e300, 5e-324]);
    expect(Object.is(large[1], -0)).toBe(true);
  });

  it("reads wall time as float32 seconds since t0", () => {
    const time = byKey(pad).get("_time")!;
    expect(time.steps).toEqual([0, 1, 2]);
    expect(time.values).toEqual([0, 0.5, 3600.25]);
  });
});

describe.each([0, 1])("a histogram message from Python (pad %i)", (pad) => {
  const entries = decodeHistograms(
    histograms.content as HistogramMessage,
    views(histograms.buffers, pad),
  );

  it("has each entry's key, step, range and counts", () => {
    expect(entries.map((e) => [e.key, e.step, e.lo, e.hi])).toEqual([
      ["w", 0, -1, 1],
      ["w", 10, -2, 0.5],
      ["grad", 10, 0, 0.001],
      ["b", 10, -0.5, 0.5],
    ]);
    expect(entries.map((e) => Array.from(e.counts))).toEqual([[0, 1, 2, 3], [4, 0, 1], [1], [2, 2]]);
  });

  it("reads a non-finite norm as NaN or Infinity, and a missing one as null", () => {
    expect(entries.map((e) => e.norm)).toEqual([2.5, NaN, Infinity, null]);
    expect(entries.map((e) => [e.nan, e.inf])).toEqual([[0, 0], [3, 0], [0, 1], [0, 0]]);
  });
});

describe("a header message from Python", () => {
  const h = decodeHeader(header.content as HeaderMessage);

  it("parses the last values, NaN and infinities included", () => {
    expect(h.last).toEqual({ loss: NaN, acc: 0.5, "grad/max": Infinity, low: -Infinity });
  });

  it("keeps a missing rate as null, and the rest as sent", () => {
    expect(h.rate).toBeNull();
    expect([h.id, h.name, h.project, h.state, h.step]).toEqual([
      "3k2j9x0a", "lr-1e-3 ✓", "fashion-cnn", "running", 12,
    ]); // prettier-ignore
    expect([h.created_at, h.elapsed]).toEqual([T0, 61.5]);
    expect(h.alerts).toEqual([{ title: "NaN loss", text: "at step 11", level: "WARN", step: 11 }]);
    expect(h.error).toBeNull();
  });

  it("carries the metric definitions Python checked, in define order", () => {
    expect(h.metrics).toEqual([
      { name: "epoch", step_metric: null, hidden: false },
      { name: "val/*", step_metric: "epoch", hidden: false },
      { name: "debug", step_metric: null, hidden: true },
    ]);
    expect(decodeHeader(headerSync.content as HeaderMessage).metrics).toEqual([]);
  });
});

describe("a header message's sync state", () => {
  it("is null when the run has no server, and when an older Python leaves it out", () => {
    expect(decodeHeader(header.content as HeaderMessage).sync).toBeNull();
    const { sync: _, ...older } = header.content;
    expect(decodeHeader(older as HeaderMessage).sync).toBeNull();
  });

  it("has every field as Python sent it, markup in the reason included", () => {
    expect(decodeHeader(headerSync.content as HeaderMessage).sync).toEqual({
      state: "refused",
      behind: 1234,
      reason: "<b>quota</b> exceeded ✓",
      url: "https://nbtrack.example/fashion-cnn/runs/3k2j9x0a",
    });
  });
});

describe("an overview message from Python", () => {
  const o = decodeOverview(overview.content as OverviewMessage);

  it("keeps notes and tags as the text they are, markup included", () => {
    expect(o.notes).toBe("<img src=x onerror=alert(1)> baseline ✓\nsecond line");
    expect(o.tags).toEqual(["cnn", "<b>bold</b>"]);
  });

  it("has the config flattened, in the user's order, every value as text", () => {
    expect(o.config).toEqual([
      ["lr", "0.001"],
      ["epochs", "10"],
      ["opt.name", "adam"],
      ["opt.betas", "[0.9, 0.999]"],
      ["opt.decay.every", "2"],
      ["nan", "nan"],
      ["inf", "inf"],
      ["big", "1152921504606846976"],
      ["flag", "true"],
      ["none", "null"],
      ["<script>", "<i>x</i>"],
      ["2", "integer-like key, kept in order"],
    ]);
  });

  it("has the commit's link, and nothing of the remote's token anywhere", () => {
    expect(o.code).toEqual({
      commit: "0123456789abcdef0123456789abcdef01234567",
      branch: "main",
      dirty: true,
      url: "https://github.com/o/r/commit/0123456789abcdef0123456789abcdef01234567",
      program: "/home/me/train.ipynb",
      colab: false,
      colab_url: null,
    });
    expect(JSON.stringify(overview)).not.toContain("SECRET");
  });

  it("has the system and the times", () => {
    expect(o.system).toEqual({
      host: "gpu-box",
      os: "Linux-6.1-x86_64",
      python: "3.12.3",
      torch: "2.4.0",
      nbtrack: "0.1.0",
      gpus: ["NVIDIA H100", "NVIDIA H100"],
    });
    expect([o.created_at, o.finished_at]).toEqual([T0, T0 + 61.5]);
  });

  it("survives fields of the wrong type (the server passes on what a client sent)", () => {
    const odd = decodeOverview({
      type: "overview",
      notes: 5,
      tags: "not a list",
      config: [["k"], ["ok", { nested: 1 }], 7],
      code: null,
      system: { gpus: [1, "T4"], host: "" },
      created_at: "nan",
      finished_at: null,
    } as unknown as OverviewMessage);
    expect(odd.notes).toBeNull();
    expect(odd.tags).toEqual([]);
    expect(odd.config).toEqual([["ok", '{"nested":1}']]);
    expect(odd.code.commit).toBeNull();
    expect(odd.code.colab).toBe(false);
    expect(odd.system.gpus).toEqual(["1", "T4"]);
    expect(odd.system.host).toBeNull();
    expect(odd.created_at).toBeNaN();
    expect(odd.finished_at).toBeNull();
  });
});
