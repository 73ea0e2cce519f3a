import { describe, expect, it } from "vitest";

import { PARALLEL_CSS } from "./parallel";
import type { AxisLayout, Brush, PcLine, Scale } from "./parallel-scale";
import {
  MISSING_POS,
  MISSING_COLOR,
  axisXs,
  brushApplies,
  brushFromDrag,
  brushRects,
  brushedIds,
  categoryKey,
  displayOrder,
  inBrush,
  inferKind,
  insideBrushes,
  lineColors,
  lineYs,
  makeScale,
  mergeOrder,
  moveAxis,
  nearestLine,
  niceTicks,
  parseBrush,
  slotAt,
  tickLabel,
  viridis,
  viridisRgb,
  yOf,
} from "./parallel-scale";
import type { CellValue } from "./types";

const spec = (id: string, kind?: "linear" | "log" | "categorical") => ({ id, label: id, ...(kind ? { kind } : {}) });
const L: AxisLayout = { top: 50, bottom: 250, missingY: 280 };
const line = (id: string, values: Record<string, CellValue | undefined>, color = "#000"): PcLine => ({
  id,
  color,
  values: new Map(Object.entries(values)),
});

describe("axis kinds", () => {
  it("is log only when every finite value is positive and they span more than two decades", () => {
    expect(inferKind([1e-4, 3e-3, 0.1])).toBe("log");
    expect(inferKind([1, 100])).toBe("linear"); // exactly two decades
    expect(inferKind([1, 100.5])).toBe("log");
    expect(inferKind([0, 1e-4, 1])).toBe("linear"); // a zero cannot go on a log axis
    expect(inferKind([-1, 1000])).toBe("linear");
  });

  it("ignores missing values, NaN and infinities when choosing", () => {
    expect(inferKind([1e-5, Number.NaN, undefined, null, Infinity, 1])).toBe("log");
    expect(inferKind([Number.NaN, undefined])).toBe("linear");
    expect(inferKind([])).toBe("linear");
  });

  it("is categorical for strings, booleans and lists, even among numbers", () => {
    expect(inferKind(["adam", "sgd"])).toBe("categorical");
    expect(inferKind([true, false])).toBe("categorical");
    expect(inferKind([1, 2, "auto"])).toBe("categorical");
    expect(inferKind([[1, 2]])).toBe("categorical");
    // Few distinct numbers stay numeric.
    expect(inferKind([2, 4, 2, 4])).toBe("linear");
  });

  it("takes the spec's kind over the inferred one", () => {
    expect(makeScale(spec("a", "linear"), [1e-5, 1]).kind).toBe("linear");
    expect(makeScale(spec("a", "categorical"), [1, 2]).kind).toBe("categorical");
    expect(makeScale(spec("a"), [1e-5, 1]).kind).toBe("log");
  });
});

describe("numeric scales", () => {
  it("places values linearly between the min and max", () => {
    const s = makeScale(spec("x"), [10, 20, 15]);
    expect(s.domain).toEqual([10, 20]);
    expect(s.pos(10)).toBe(0);
    expect(s.pos(20)).toBe(1);
    expect(s.pos(15)).toBeCloseTo(0.5);
    expect(s.invert(0.25)).toBeCloseTo(12.5);
  });

  it("places values by their logarithm on a log axis", () => {
    const s = makeScale(spec("lr"), [1e-5, 1e-1, 1e-3]);
    expect(s.kind).toBe("log");
    expect(s.pos(1e-5)).toBe(0);
    expect(s.pos(1e-3)).toBeCloseTo(0.5);
    expect(s.pos(1e-4)).toBeCloseTo(0.25);
    expect(s.invert(0.75)).toBeCloseTo(1e-2);
    expect(s.ticks().map((t) => t.label)).toEqual(["1e-5", "1e-4", "0.001", "0.01", "0.1"]);
    expect(s.ticks()[2]?.pos).toBeCloseTo(0.5);
  });

  it("inverts its ends exactly, so a brush to an end holds the value there", () => {
    const s = makeScale(spec("lr"), [3e-5, 0.7]);
    expect(s.invert(0)).toBe(3e-5);
    expect(s.invert(1)).toBe(0.7);
    const t = makeScale(spec("x"), [0.1, 0.3]);
    expect(t.invert(1)).toBe(0.3);
  });

  it("sends NaN, infinities, null, undefined and non-numbers to the missing mark", () => {
    const s = makeScale(spec("x", "linear"), [1, 2, Number.NaN, Infinity, -Infinity, null, undefined, "a"]);
    expect(s.domain).toEqual([1, 2]); // the infinities do not stretch it
    for (const v of [Number.NaN, Infinity, -Infinity, null, undefined, "a", true]) expect(s.pos(v)).toBe(MISSING_POS);
    expect(s.hasMissing).toBe(true);
    const ticks = s.ticks();
    expect(ticks[ticks.length - 1]).toEqual({ pos: MISSING_POS, label: "missing" });
  });

  it("has no missing tick when nothing is missing", () => {
    expect(makeScale(spec("x"), [1, 2]).ticks().some((t) => t.pos === MISSING_POS)).toBe(false);
  });

  it("sends zero and negatives to the missing mark on a log axis asked for", () => {
    const s = makeScale(spec("x", "log"), [0, -1, 1, 1000]);
    expect(s.domain).toEqual([1, 1000]);
    expect(s.pos(0)).toBe(MISSING_POS);
    expect(s.pos(-1)).toBe(MISSING_POS);
    expect(s.pos(10)).toBeCloseTo(1 / 3);
  });

  it("centres a single value, and copes with none", () => {
    expect(makeScale(spec("x"), [3, 3]).pos(3)).toBeCloseTo(0.5);
    expect(makeScale(spec("x"), [0]).pos(0)).toBeCloseTo(0.5);
    expect(makeScale(spec("x", "log"), [1e-3]).pos(1e-3)).toBeCloseTo(0.5);
    const empty = makeScale(spec("x"), [undefined, Number.NaN]);
    expect(empty.domain).toEqual([0, 1]);
    expect(empty.pos(undefined)).toBe(MISSING_POS);
  });

  it("clamps values outside its domain", () => {
    const s = makeScale(spec("x"), [0, 1]);
    expect(s.pos(5)).toBe(1);
    expect(s.pos(-5)).toBe(0);
  });

  it("ticks at round numbers", () => {
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0.13, 0.97)).toEqual([0.2, 0.4, 0.6, 0.8]);
    expect(niceTicks(-3, 17)).toEqual([0, 5, 10, 15]);
    expect(niceTicks(5, 5)).toEqual([5]);
  });

  it("labels ticks without padded digits", () => {
    expect(tickLabel(2.5e-4)).toBe("2.5e-4");
    expect(tickLabel(3e-4)).toBe("3e-4");
    expect(tickLabel(2e6)).toBe("2e6");
    expect(tickLabel(0.2)).toBe("0.2");
    expect(tickLabel(0)).toBe("0");
    expect(makeScale(spec("wd"), [1e-4, 3e-4]).ticks().map((t) => t.label)).toContain("2e-4");
  });
});

describe("categorical scales", () => {
  it("sorts categories and spaces them evenly", () => {
    const s = makeScale(spec("opt"), ["sgd", "adam", "rmsprop", "adam"]);
    expect(s.categories).toEqual(["adam", "rmsprop", "sgd"]);
    expect(s.pos("adam")).toBe(0);
    expect(s.pos("rmsprop")).toBe(0.5);
    expect(s.pos("sgd")).toBe(1);
    expect(s.ticks().map((t) => t.label)).toEqual(["adam", "rmsprop", "sgd"]);
  });

  it("puts numbers first (numerically), then false and true, then strings", () => {
    const s = makeScale(spec("x", "categorical"), ["b", true, 10, false, 9, "a"]);
    expect(s.categories).toEqual(["9", "10", "false", "true", "a", "b"]);
  });

  it("centres a lone category, and sends null and NaN to the missing mark", () => {
    const s = makeScale(spec("x"), ["only", null, undefined]);
    expect(s.pos("only")).toBe(0.5);
    expect(s.pos(null)).toBe(MISSING_POS);
    expect(s.pos(undefined)).toBe(MISSING_POS);
    expect(s.pos("unseen")).toBe(MISSING_POS);
    expect(s.hasMissing).toBe(true);
    expect(s.ticks().map((t) => t.label)).toEqual(["only", "missing"]);
  });

  it("keys lists and objects by their JSON", () => {
    expect(categoryKey([1, 2])).toBe("[1,2]");
    expect(categoryKey({ a: 1 })).toBe('{"a":1}');
    expect(categoryKey(true)).toBe("true");
    const s = makeScale(spec("x"), [[64, 64], [32]]);
    expect(s.categories).toEqual(["[32]", "[64,64]"]);
  });
});

describe("screen positions", () => {
  it("puts 0 at the bottom, 1 at the top, and reverses a flipped axis", () => {
    expect(yOf(0, false, L)).toBe(250);
    expect(yOf(1, false, L)).toBe(50);
    expect(yOf(0, true, L)).toBe(50);
    expect(yOf(0.25, true, L)).toBe(100);
  });

  it("keeps the missing mark below the axis, flipped or not", () => {
    expect(yOf(MISSING_POS, false, L)).toBe(280);
    expect(yOf(MISSING_POS, true, L)).toBe(280);
  });

  it("gives a line with a missing value every one of its points", () => {
    const scales = new Map<string, Scale>([
      ["a", makeScale(spec("a"), [0, 1])],
      ["b", makeScale(spec("b"), [0, 1, Number.NaN])],
      ["c", makeScale(spec("c"), ["x", "y"])],
    ]);
    const ys = lineYs(new Map<string, CellValue | undefined>([["a", 1], ["b", Number.NaN]]), ["a", "b", "c"], scales, new Set(), L);
    expect([...ys]).toEqual([50, 280, 280]); // c: absent from the map, missing too
    expect(ys.every(Number.isFinite)).toBe(true);
  });

  it("spreads axes across the width", () => {
    const xs = axisXs(3, 500);
    expect(xs[0]).toBeLessThan(xs[1] ?? 0);
    expect((xs[1] ?? 0) - (xs[0] ?? 0)).toBeCloseTo((xs[2] ?? 0) - (xs[1] ?? 0));
    expect(axisXs(1, 500).length).toBe(1);
    expect(slotAt([10, 100, 200], 140)).toBe(1);
    expect(slotAt([10, 100, 200], 1000)).toBe(2);
  });
});

describe("brushes", () => {
  const lin = makeScale(spec("x"), [0, 10, Number.NaN]);

  it("brushes a value range from a drag, whichever way it goes", () => {
    // y 100..200 on a 50..250 axis: positions 0.25..0.75, values 2.5..7.5.
    const b = brushFromDrag(lin, false, 200, 100, L);
    expect(b?.kind).toBe("range");
    if (b?.kind !== "range" || !b.range) throw new Error("expected a range");
    expect(b.range[0]).toBeCloseTo(2.5);
    expect(b.range[1]).toBeCloseTo(7.5);
    expect(b.missing).toBe(false);
    expect(brushFromDrag(lin, false, 100, 200, L)).toEqual(b);
  });

  it("brushes the mirrored values on a flipped axis", () => {
    // The top quarter of a flipped axis holds the low values.
    const b = brushFromDrag(lin, true, 40, 100, L);
    if (b?.kind !== "range" || !b.range) throw new Error("expected a range");
    expect(b.range[0]).toBe(0);
    expect(b.range[1]).toBeCloseTo(2.5);
    expect(inBrush(lin, b, 1)).toBe(true);
    expect(inBrush(lin, b, 9)).toBe(false);
  });

  it("includes the missing mark only when the drag reaches it", () => {
    const above = brushFromDrag(lin, false, 150, 260, L);
    expect(above?.missing).toBe(false);
    expect(above && inBrush(lin, above, Number.NaN)).toBe(false);
    const over = brushFromDrag(lin, false, 150, 290, L);
    expect(over?.missing).toBe(true);
    expect(over && inBrush(lin, over, Number.NaN)).toBe(true);
    expect(over && inBrush(lin, over, undefined)).toBe(true);
    expect(over && inBrush(lin, over, 0)).toBe(true);
    // Only the mark: no values.
    const only = brushFromDrag(lin, false, 275, 285, L);
    expect(only).toEqual({ kind: "range", range: null, missing: true });
    expect(only && inBrush(lin, only, 5)).toBe(false);
  });

  it("is nothing when the drag reaches neither the axis nor the mark", () => {
    expect(brushFromDrag(lin, false, 0, 40, L)).toBeNull();
    expect(brushFromDrag(lin, false, 255, 265, L)).toBeNull();
  });

  it("stores a log axis' brush in value space, so it survives new runs", () => {
    const before = makeScale(spec("lr"), [1e-5, 1e-1]);
    expect(before.kind).toBe("log");
    // The lower half: 1e-5 .. 1e-3.
    const b = brushFromDrag(before, false, 150, 250, L);
    if (b?.kind !== "range" || !b.range) throw new Error("expected a range");
    expect(b.range[0]).toBe(1e-5);
    expect(b.range[1] / 1e-3).toBeCloseTo(1, 9);
    // A new run at 1e-7 rescales the axis; the brush still holds the same runs.
    const after = makeScale(spec("lr"), [1e-7, 1e-5, 5e-4, 1e-2, 1e-1]);
    expect(inBrush(after, b, 1e-5)).toBe(true);
    expect(inBrush(after, b, 5e-4)).toBe(true);
    expect(inBrush(after, b, 1e-7)).toBe(false);
    expect(inBrush(after, b, 1e-2)).toBe(false);
    // And it moved on screen: 1e-5..1e-3 is now the 1/3..2/3 band of 1e-7..1e-1.
    const r = brushRects(after, false, b, L);
    expect(r.values?.bottom).toBeCloseTo(250 - 200 / 3);
    expect(r.values?.top).toBeCloseTo(250 - 400 / 3);
  });

  it("stores a linear axis' brush in value space too", () => {
    const b = brushFromDrag(lin, false, 50, 150, L); // the upper half: 5..10
    const wider = makeScale(spec("x"), [0, 10, 20]);
    expect(b && inBrush(wider, b, 7)).toBe(true);
    expect(b && inBrush(wider, b, 15)).toBe(false);
  });

  it("survives JSON", () => {
    const b = brushFromDrag(lin, false, 100, 290, L);
    expect(parseBrush(JSON.parse(JSON.stringify(b)))).toEqual(b);
    const c: Brush = { kind: "categories", values: ["adam"], missing: false };
    expect(parseBrush(JSON.parse(JSON.stringify(c)))).toEqual(c);
  });

  it("refuses what is not a brush", () => {
    for (const x of [null, 3, {}, { kind: "range", range: [0, null], missing: false }, { kind: "range", range: [0, 1] },
      { kind: "categories", values: [1], missing: false }, { kind: "box", missing: true }]) {
      expect(parseBrush(x)).toBeNull();
    }
    expect(parseBrush({ kind: "range", range: [5, 1], missing: false })).toEqual({ kind: "range", range: [1, 5], missing: false });
  });

  it("brushes the categories a drag covers", () => {
    const s = makeScale(spec("opt"), ["adam", "rmsprop", "sgd", null]);
    // Positions 0.4..1 (y 50..170): rmsprop (0.5) and sgd (1).
    const b = brushFromDrag(s, false, 170, 50, L);
    expect(b).toEqual({ kind: "categories", values: ["rmsprop", "sgd"], missing: false });
    // Flipped, the same drag covers adam and rmsprop.
    expect(brushFromDrag(s, true, 170, 50, L)).toEqual({ kind: "categories", values: ["adam", "rmsprop"], missing: false });
    if (!b) throw new Error("expected a brush");
    expect(inBrush(s, b, "sgd")).toBe(true);
    expect(inBrush(s, b, "adam")).toBe(false);
    expect(inBrush(s, b, null)).toBe(false);
  });

  it("applies a range to numeric axes only, categories to categorical ones only", () => {
    const cat = makeScale(spec("opt"), ["a"]);
    const range: Brush = { kind: "range", range: [0, 1], missing: false };
    const cats: Brush = { kind: "categories", values: ["a"], missing: false };
    expect(brushApplies(lin, range)).toBe(true);
    expect(brushApplies(cat, range)).toBe(false);
    expect(brushApplies(cat, cats)).toBe(true);
    expect(brushApplies(lin, cats)).toBe(false);
  });

  it("keeps the lines inside every brush; brushes on absent or mismatched axes are ignored", () => {
    const lines = [
      line("r1", { lr: 1e-4, opt: "adam", acc: 0.9 }),
      line("r2", { lr: 1e-2, opt: "adam", acc: 0.5 }),
      line("r3", { lr: 1e-3, opt: "sgd", acc: Number.NaN }),
      line("r4", { opt: "sgd", acc: 0.7 }),
    ];
    const scales = new Map<string, Scale>(
      ["lr", "opt", "acc"].map((id) => [id, makeScale(spec(id), lines.map((l) => l.values.get(id)))]),
    );
    expect(brushedIds(lines, scales, {})).toBeNull();
    expect(brushedIds(lines, scales, { gone: { kind: "range", range: [0, 1], missing: false } })).toBeNull();
    const accHigh: Brush = { kind: "range", range: [0.6, 1], missing: false };
    expect(brushedIds(lines, scales, { acc: accHigh })).toEqual(new Set(["r1", "r4"]));
    const sgd: Brush = { kind: "categories", values: ["sgd"], missing: false };
    expect(brushedIds(lines, scales, { acc: accHigh, opt: sgd })).toEqual(new Set(["r4"]));
    // r4 has no lr: outside an lr brush unless it covers the missing mark.
    const lrAll: Brush = { kind: "range", range: [1e-4, 1e-2], missing: false };
    expect(brushedIds(lines, scales, { lr: lrAll })).toEqual(new Set(["r1", "r2", "r3"]));
    expect(brushedIds(lines, scales, { lr: { ...lrAll, missing: true } })).toEqual(new Set(["r1", "r2", "r3", "r4"]));
    // A categories brush on a numeric axis is kept in the state but does not filter.
    expect(insideBrushes(lines[1]!.values, scales, { acc: sgd })).toBe(true);
    // NaN accuracy counts as missing.
    expect(brushedIds(lines, scales, { acc: { kind: "range", range: null, missing: true } })).toEqual(new Set(["r3"]));
  });

  it("places its rectangles, joining the values to the missing mark when they reach the bottom", () => {
    const toBottom = brushFromDrag(lin, false, 150, 290, L);
    if (!toBottom) throw new Error("expected a brush");
    expect(brushRects(lin, false, toBottom, L)).toEqual({ values: { top: 150, bottom: 287 }, missing: false });
    // Flipped, the same values are at the top: the mark gets its own rectangle.
    const r = brushRects(lin, true, toBottom, L);
    expect(r.missing).toBe(true);
    expect(r.values?.top).toBeCloseTo(50);
    expect(r.values?.bottom).toBeCloseTo(150);
    expect(brushRects(lin, false, { kind: "range", range: null, missing: true }, L)).toEqual({ values: null, missing: true });
    const cat = makeScale(spec("opt"), ["a", "b", "c"]);
    const rc = brushRects(cat, false, { kind: "categories", values: ["b", "gone"], missing: false }, L);
    expect(rc.values).toEqual({ top: 145, bottom: 155 });
  });
});

describe("hover hit-testing", () => {
  const xs = [0, 100, 200];
  const ys = [
    new Float64Array([0, 0, 0]),
    new Float64Array([100, 100, 100]),
    new Float64Array([0, 100, 0]),
  ];

  it("finds the line nearest to the pointer within the distance", () => {
    expect(nearestLine(xs, ys, 50, 3)).toBe(0);
    expect(nearestLine(xs, ys, 150, 97)).toBe(1);
    // On the diagonal of line 2 between (0, 0) and (100, 100).
    expect(nearestLine(xs, ys, 50, 52)).toBe(2);
  });

  it("measures to the segment, not to its points", () => {
    // (50, 40) is 7.07 px from line 2's diagonal (farther from its points), 40 from line 0.
    expect(nearestLine(xs, ys, 50, 40)).toBe(-1);
    expect(nearestLine(xs, ys, 50, 40, 8)).toBe(2);
  });

  it("finds nothing far from every line, or past the ends", () => {
    expect(nearestLine(xs, ys, 50, 30)).toBe(-1);
    expect(nearestLine(xs, ys, 300, 0)).toBe(-1);
    expect(nearestLine([], [], 0, 0)).toBe(-1);
  });

  it("prefers the later line on a tie, and skips lines not eligible", () => {
    // (0, 0) is on lines 0 and 2.
    expect(nearestLine(xs, ys, 0, 0)).toBe(2);
    expect(nearestLine(xs, ys, 0, 0, 6, (i) => i !== 2)).toBe(0);
  });

  it("hit-tests a single axis by the point", () => {
    expect(nearestLine([50], [new Float64Array([10]), new Float64Array([40])], 52, 38)).toBe(1);
  });
});

describe("colours", () => {
  it("runs from viridis' dark purple to its yellow", () => {
    expect(viridis(0)).toBe("rgb(68, 1, 84)");
    expect(viridis(1)).toBe("rgb(253, 231, 37)");
    expect(viridis(-1)).toBe(viridis(0));
    expect(viridis(2)).toBe(viridis(1));
    expect(viridis(Number.NaN)).toBe(viridis(0));
  });

  it("gets lighter as t grows (perceptually ordered)", () => {
    const luma = (t: number): number => {
      const [r, g, b] = viridisRgb(t);
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    for (let t = 0; t < 1; t += 0.05) expect(luma(t + 0.05)).toBeGreaterThan(luma(t));
  });

  it("colours lines by the metric, grey when it is missing, else by their own colour", () => {
    const lines = [line("a", { acc: 0 }, "#111"), line("b", { acc: 1 }, "#222"), line("c", { acc: Number.NaN }, "#333")];
    const s = makeScale(spec("acc"), lines.map((l) => l.values.get("acc")));
    expect(lineColors(lines, "acc", s)).toEqual([viridis(0), viridis(1), MISSING_COLOR]);
    expect(lineColors(lines, null, s)).toEqual(["#111", "#222", "#333"]);
  });
});

describe("axis order", () => {
  it("shows axes in the saved order, new ones after", () => {
    expect(displayOrder(["c", "gone", "a"], ["a", "b", "c"])).toEqual(["c", "a", "b"]);
    expect(displayOrder([], ["a", "b"])).toEqual(["a", "b"]);
    expect(displayOrder(["a", "a"], ["a"])).toEqual(["a"]);
  });

  it("moves an axis, keeping hidden ones in their places", () => {
    expect(moveAxis(["a", "b", "c"], "a", 2)).toEqual(["b", "c", "a"]);
    expect(moveAxis(["a", "b", "c"], "c", 0)).toEqual(["c", "a", "b"]);
    expect(mergeOrder(["a", "hidden", "b", "c"], ["c", "a", "b"])).toEqual(["c", "hidden", "a", "b"]);
    expect(mergeOrder(["a"], ["a", "new"])).toEqual(["a", "new"]);
  });
});


describe("the CSS", () => {
  it("is scoped under the dashboard and the plot", () => {
    const selectors = PARALLEL_CSS.split("}")
      .map((r) => r.split("{")[0]?.trim() ?? "")
      .filter((s) => s !== "");
    expect(selectors.length).toBeGreaterThan(5);
    for (const sel of selectors) {
      for (const part of sel.split(",")) expect(part.trim().startsWith(".nbtrack-dashboard .nbt-pc")).toBe(true);
    }
  });
});
