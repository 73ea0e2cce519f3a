import { describe, expect, it } from "vitest";

import type { Box } from "./dashboard";
import { buildRank, groupCharts, sectionOf } from "./dashboard";
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

describe("the order charts are built in", () => {
  const box = (top: number, left = 20, height = 264): Box => ({ top, bottom: top + height, left, width: 400, height });
  const order = (boxes: [string, Box, boolean | null][], h = 1000): string[] =>
    boxes
      .map(([id, b, near]) => [id, buildRank(b, near, h)] as const)
      .filter((x): x is readonly [string, number[]] => x[1] !== null)
      .sort((a, b) => {
        for (let i = 0; i < a[1].length; i++) if (a[1][i] !== b[1][i]) return (a[1][i] as number) - (b[1][i] as number);
        return 0;
      })
      .map(([id]) => id);

  it("builds what is on screen first, top to bottom, left to right, then what is near", () => {
    expect(
      order([
        ["below", box(1100), null],
        ["second row", box(400), null],
        ["top right", box(100, 500), null],
        ["top left", box(100, 20), null],
        ["cut by the top", box(-200), null],
        ["above", box(-500), null],
      ]),
    ).toEqual(["cut by the top", "top left", "top right", "second row", "below", "above"]);
  });

  it("leaves what is far, or not laid out (a collapsed section), for later", () => {
    expect(buildRank(box(5000), null, 1000)).toBeNull();
    expect(buildRank(box(-3000), null, 1000)).toBeNull();
    expect(buildRank({ top: 0, bottom: 0, left: 0, width: 0, height: 0 }, null, 1000)).toBeNull();
  });

  it("takes the IntersectionObserver's word over the box once it has one", () => {
    // A scrolling container (JupyterLab's notebook) may clip a chart the window would show.
    expect(buildRank(box(100), false, 1000)).toBeNull();
    // And it counts the container's margin too.
    expect(buildRank(box(5000), true, 1000)).toEqual([1, 4000, 20]);
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
