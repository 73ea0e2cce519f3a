import { describe, expect, it } from "vitest";

import { groupCharts, sectionOf } from "./dashboard";
import { decodePoints } from "./protocol";
import { SeriesStore } from "./series-store";
import { XColumn } from "./x-axis";

describe("charts and sections", () => {
  it("gives each metric its own chart unless merged", () => {
    const g = groupCharts(["train/loss", "val/loss", "acc"], { "val/loss": "train/loss" });
    expect([...g.entries()]).toEqual([
      ["train/loss", ["train/loss", "val/loss"]],
      ["acc", ["acc"]],
    ]);
  });

  it("ignores merges into unknown or merged-away charts", () => {
    const g = groupCharts(["a", "b", "c"], { a: "zzz", b: "c", c: "a" });
    // a's target is unknown, so a stays and takes c; b wants c, which is merged away.
    expect(g.get("a")).toEqual(["a", "c"]);
    expect(g.get("b")).toEqual(["b"]);
    expect(g.has("c")).toBe(false);
  });

  it("sections by key prefix, the rest together", () => {
    expect(sectionOf("train/loss")).toBe("train");
    expect(sectionOf("val/a/b")).toBe("val");
    expect(sectionOf("epoch")).toBe("");
    expect(sectionOf("/odd")).toBe("");
  });
});

describe("x columns", () => {
  function store(): SeriesStore {
    const s = new SeriesStore();
    s.ingest(
      decodePoints(
        {
          type: "points",
          t0: 100,
          series: [
            { key: "_time", n: 4, first: 0, stride: 1, values: "f64", values_buf: 0 },
            { key: "loss", n: 4, first: 0, stride: 1, values: "f64", values_buf: 1 },
            { key: "epoch", n: 2, steps: "i32", steps_buf: 2, values: "f64", values_buf: 3 },
          ],
        },
        [
          new DataView(Float64Array.from([0, 0.5, 1, 1.5]).buffer),
          new DataView(Float64Array.from([4, 3, 2, 1]).buffer),
          new DataView(Int32Array.from([0, 2]).buffer),
          new DataView(Float64Array.from([0, 1]).buffer),
        ],
      ),
    );
    return s;
  }

  it("maps steps to relative time, wall time and another metric's value", () => {
    const s = store();
    const loss = s.series.get("loss")!;
    expect(Array.from(new XColumn(loss, "step", s).update())).toEqual([0, 1, 2, 3]);
    expect(Array.from(new XColumn(loss, "relative", s).update())).toEqual([0, 0.5, 1, 1.5]);
    expect(new XColumn(loss, "wall", s).update()[1]).toBe(100_500);
    const byEpoch = new XColumn(loss, "epoch", s);
    expect(Array.from(byEpoch.update())).toEqual([0, 0, 1, 1]);
    expect(byEpoch.sorted).toBe(true);
  });

  it("extends as points arrive", () => {
    const s = store();
    const loss = s.series.get("loss")!;
    const col = new XColumn(loss, "relative", s);
    col.update();
    s.series.get("_time")!.append([4], [2]);
    loss.append([4], [0.5]);
    expect(Array.from(col.update())).toEqual([0, 0.5, 1, 1.5, 2]);
  });
});
