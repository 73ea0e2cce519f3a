import { describe, expect, it } from "vitest";

import { chartXMode } from "./dashboard";
import { MetricRules } from "./metric-defs";
import type { HeaderMessage } from "./protocol";
import { decodeHeader } from "./protocol";

const def = (name: string, step_metric: string | null = null, hidden = false) => ({ name, step_metric, hidden });

describe("MetricRules (define_metric by W&B's rules)", () => {
  it("draws val/* against epoch, and epoch itself against the step", () => {
    const r = new MetricRules([def("epoch"), def("val/*", "epoch")]);
    expect(r.stepMetric("val/loss")).toBe("epoch");
    expect(r.stepMetric("val/top1/acc")).toBe("epoch"); // a glob's * takes "/" too
    expect(r.stepMetric("epoch")).toBeNull();
    expect(r.stepMetric("train/loss")).toBeNull();
    expect(r.stepMetric("val")).toBeNull(); // "val/*" needs the "/"
    expect(r.hasStepMetrics()).toBe(true);
  });

  it("takes an exact definition over any glob, and the longest glob over shorter ones", () => {
    const r = new MetricRules([def("*", "global_step"), def("val/*", "epoch"), def("val/loss"), def("val/a*", "x")]);
    expect(r.stepMetric("val/loss")).toBeNull(); // defined by name: no glob applies
    expect(r.stepMetric("val/top1")).toBe("epoch"); // "val/*" is longer than "*"
    expect(r.stepMetric("val/abc")).toBe("x");
    expect(r.stepMetric("lr")).toBe("global_step");
  });

  it("never draws a key against itself, and no glob matches a key starting with _", () => {
    const r = new MetricRules([def("*", "step_x")]);
    expect(r.stepMetric("step_x")).toBeNull();
    expect(r.stepMetric("loss")).toBe("step_x");
    expect(r.of("_time")).toBeNull();
    expect(r.stepMetric("_runtime")).toBeNull();
  });

  it("merges a name defined twice: the later step metric, and hidden stays", () => {
    const r = new MetricRules([def("loss", "epoch", true), def("loss"), def("acc", "a"), def("acc", "b")]);
    expect(r.stepMetric("loss")).toBe("epoch");
    expect(r.hidden("loss")).toBe(true);
    expect(r.stepMetric("acc")).toBe("b");
  });

  it("hides what is hidden, by name or by glob", () => {
    const r = new MetricRules([def("debug/*", null, true), def("secret", null, true)]);
    expect(r.hidden("debug/grad")).toBe(true);
    expect(r.hidden("secret")).toBe(true);
    expect(r.hidden("loss")).toBe(false);
    expect(r.hasStepMetrics()).toBe(false);
  });

  it("tells definitions that changed by their signature", () => {
    expect(new MetricRules([def("a", "b")]).signature).toBe(new MetricRules([def("a", "b")]).signature);
    expect(new MetricRules([def("a", "b")]).signature).not.toBe(new MetricRules([def("a")]).signature);
    expect(new MetricRules().signature).toBe(new MetricRules([]).signature);
  });
});

describe("chartXMode (each chart's x axis)", () => {
  const rules = new MetricRules([def("epoch"), def("val/*", "epoch")]);
  it("follows the definition once the step metric has points", () => {
    expect(chartXMode(undefined, "val/loss", rules, () => true)).toBe("epoch");
    expect(chartXMode(undefined, "val/loss", rules, () => false)).toBe("step");
    expect(chartXMode(undefined, "train/loss", rules, () => true)).toBe("step");
  });

  it("gives way to the person's choice", () => {
    expect(chartXMode("relative", "val/loss", rules, () => true)).toBe("relative");
    expect(chartXMode("step", "val/loss", rules, () => true)).toBe("step");
  });
});

describe("the header's metrics field", () => {
  const base = {
    type: "header", id: "a", name: "n", project: "p", state: "running", step: 1, created_at: 0,
    elapsed: 1, rate: null, last: {}, alerts: [], error: null,
  } as const; // prettier-ignore

  it("is [] from a Python that sends none", () => {
    expect(decodeHeader(base as unknown as HeaderMessage).metrics).toEqual([]);
  });

  it("keeps well-formed definitions and drops the rest", () => {
    const metrics = [
      { name: "val/*", step_metric: "epoch", hidden: false },
      { name: "x", step_metric: 3, hidden: "yes" },
      { name: "" },
      null,
      "junk",
    ];
    const h = decodeHeader({ ...base, metrics } as unknown as HeaderMessage);
    expect(h.metrics).toEqual([def("val/*", "epoch"), def("x")]);
  });
});
