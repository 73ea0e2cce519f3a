// The compare view's data path in the page: the fixture Python encodes (tests/fixtures/compare/,
// written by tests/compare_fixtures.py and checked against nbtrack/widget/_compare_protocol.py
// by tests/test_compare.py) decoded here, then what the page builds of it: curves, the
// project's state, the runs table's order, group envelopes and run colours.

import { describe, expect, it } from "vitest";

import appendFixture from "../../tests/fixtures/compare/append.json";
import curvesFixture from "../../tests/fixtures/compare/curves.json";
import rangeFixture from "../../tests/fixtures/compare/range.json";
import runFixture from "../../tests/fixtures/compare/run.json";
import runsFixture from "../../tests/fixtures/compare/runs.json";
import type { CurvesMessage, DecodedCurve, RunRowJson, RunsMessage } from "../compare-protocol";
import { NO_VALUE, decodeCell, decodeCurves, decodeRun } from "../compare-protocol";
import { TIME_KEY } from "../series-store";
import { cellText, columnValue, compareValues, fixedColumns, sortRuns, varyingKeys } from "./cells";
import { RUN_PALETTE, hashString, runColor } from "./colors";
import { Curve } from "./curve";
import { groupEnvelope } from "./overlay-chart";
import { mediaOf } from "../media/store";
import type { ProjectEvent } from "./project-state";
import { ProjectState } from "./project-state";
import type { CellValue, CompareRun } from "./types";

const SHA = "0123abcd".repeat(5);
const Q = 65534;
// The fixture's series "loss" (see loss_series in tests/compare_fixtures.py): steps 0..999 in
// ten buckets of 100, value step/1000, a spike of 5 at step 550, +inf at 250, NaN at 799 and
// from 900 on; so lo = 0, hi = 5 and one code is 5/65534.
const LOSS_TOL = 5 / Q;

interface Fixture {
  content: unknown;
  buffers: string[];
}

function bytes(b64: string): Uint8Array {
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

/**
 * The buffers as the comm hands them over: DataViews into one larger ArrayBuffer, each at
 * `pad` bytes past an 8-byte boundary (1 tests the copy for unaligned buffers).
 */
function views(buffers: string[], pad = 0): DataView[] {
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

function curvesOf(f: Fixture, pad = 0): Map<string, DecodedCurve> {
  const decoded = decodeCurves(f.content as CurvesMessage, views(f.buffers, pad));
  return new Map(decoded.map((c) => [`${c.run}/${c.key}`, c]));
}

function get<K, V>(m: Map<K, V>, k: K): V {
  const v = m.get(k);
  if (v === undefined) throw new Error(`missing ${String(k)}`);
  return v;
}

function rows(): RunRowJson[] {
  return (runsFixture.content as unknown as RunsMessage).runs;
}

function expectClose(actual: number, expected: number, tol: number): void {
  if (Number.isNaN(expected)) expect(actual).toBeNaN();
  else expect(Math.abs(actual - expected)).toBeLessThanOrEqual(tol);
}

function isSorted(x: ArrayLike<number>, n = x.length): boolean {
  for (let i = 1; i < n; i++) if ((x[i] as number) < (x[i - 1] as number)) return false;
  return true;
}

// -- the wire format ------------------------------------------------------------------------

describe("decodeCell", () => {
  it("reads the tag of a float JSON cannot carry, and nothing else, as a number", () => {
    expect(decodeCell({ $float: "nan" })).toBeNaN();
    expect(decodeCell({ $float: "inf" })).toBe(Infinity);
    expect(decodeCell({ $float: "-inf" })).toBe(-Infinity);
    expect(decodeCell("nan")).toBe("nan");
    // A dict that merely has the key is a dict.
    expect(decodeCell({ $float: "nan", other: 1 })).toEqual({ $float: "nan", other: 1 });
    expect(decodeCell([1, { $float: "inf" }, [null, true]])).toEqual([1, Infinity, [null, true]]);
    expect(decodeCell(undefined)).toBe("undefined");
  });
});

describe("decodeRun on the runs fixture", () => {
  it("keeps NaN, infinities, the string 'nan' and big ints as Python sent them", () => {
    const run = decodeRun(rows()[0] as RunRowJson);
    const c = run.config;
    expect(c["eps"]).toBeNaN();
    expect(c["clip"]).toBe(Infinity);
    expect(c["floor"]).toBe(-Infinity);
    expect(c["label"]).toBe("nan");
    expect(c["seed"]).toBe(String(2n ** 60n)); // past 2**53: the digits, not a rounded number
    expect(c["lr"]).toBe(1e-3);
    expect(c["opt.name"]).toBe("adam");
    expect(c["opt.sched.gamma"]).toBe(0.5);
    expect(c["opt.betas"]).toEqual([0.9, 0.999]);
    expect(c["amp"]).toBe(true);
    expect(c["none"]).toBeNull();
    expect(run.summary["loss"]).toBeNaN();
    expect(run.summary["val/acc"]).toBe(0.875);
  });

  it("has the row's facts, its commit link and its page", () => {
    const run = decodeRun(rows()[0] as RunRowJson);
    expect(run.id).toBe("3k2j9x0a");
    expect(run.name).toBe("lr-1e-3 ✓");
    expect(run.entity).toBeNull();
    expect(run.runtime).toBe(61.5);
    expect(run.created_at).toBe(1_700_000_000.25);
    expect(run.tags).toEqual(["cnn", "baseline"]);
    expect(run.notes).toBe("<b>not markup</b>");
    expect(run.git).toEqual({
      commit: SHA,
      branch: "main",
      dirty: false,
      url: `https://github.com/o/r/commit/${SHA}`,
    });
    expect(run.url).toBe("https://nbtrack.example/fashion-cnn/runs/3k2j9x0a");
    expect([run.group, run.job_type, run.sweep]).toEqual(["<b>cnn</b>", "train", "abc123"]);
  });

  it("reads a row without link, notes or tags", () => {
    const run = decodeRun(rows()[1] as RunRowJson);
    expect(run.entity).toBe("team");
    expect(run.state).toBe("running");
    expect(run.runtime).toBe(0);
    expect(run.notes).toBe("");
    expect(run.tags).toEqual([]);
    expect(run.git).toEqual({ commit: "feedbeef", branch: null, dirty: true, url: null });
    expect(run.url).toBeNull();
    expect([run.group, run.job_type, run.sweep]).toEqual([null, null, null]);
    expect(runsFixture.content.removed).toEqual(["gone"]);
  });

  it("reads a row of an older Python, without group, job type or sweep, as none", () => {
    const { group: _g, job_type: _j, sweep: _s, ...older } = rows()[0] as RunRowJson;
    const run = decodeRun(older as RunRowJson);
    expect([run.group, run.job_type, run.sweep]).toEqual([null, null, null]);
  });

  it("never takes a link that is not http(s) for the commit", () => {
    const row = { ...(rows()[0] as RunRowJson) };
    row.git = { ...row.git, url: "javascript:alert(1)" };
    expect(decodeRun(row).git.url).toBeNull();
  });
});

describe.each([0, 1])("decodeCurves on the curves fixture (buffers %i bytes past alignment)", (pad) => {
  it("reads an envelope's buckets within one code of each bucket's min, max and last", () => {
    const loss = get(curvesOf(curvesFixture, pad), "3k2j9x0a/loss");
    expect(loss.envelope).toBe(true);
    expect(loss.count).toBe(1000);
    expect(Array.from(loss.steps)).toEqual([99, 199, 299, 399, 499, 599, 699, 799, 899, 999]);
    const min = loss.min as ArrayLike<number>;
    const max = loss.max as ArrayLike<number>;
    for (let b = 0; b < 10; b++) {
      const top = (b * 100 + 99) / 1000;
      expectClose(min[b] as number, b === 9 ? NaN : b / 10, LOSS_TOL);
      // Bucket 5 holds the spike; bucket 7's last step (799) is NaN, so its max is at 798.
      const high = b === 9 ? NaN : b === 5 ? 5 : b === 7 ? 0.798 : top;
      expectClose(max[b] as number, high, LOSS_TOL);
      expectClose(loss.last[b] as number, b === 9 || b === 7 ? NaN : top, LOSS_TOL);
      if (b !== 7 && b !== 9) {
        expect(min[b] as number).toBeLessThanOrEqual(loss.last[b] as number);
        expect(loss.last[b] as number).toBeLessThanOrEqual(max[b] as number);
      }
    }
  });

  it("keeps the spike: the envelope's max is the series' max, the +inf left out", () => {
    const loss = get(curvesOf(curvesFixture, pad), "3k2j9x0a/loss");
    const max = Array.from(loss.max as ArrayLike<number>).filter(Number.isFinite);
    expectClose(Math.max(...max), 5, LOSS_TOL);
    expectClose((loss.max as ArrayLike<number>)[2] as number, 0.299, LOSS_TOL);
  });

  it("reads a bucket with no finite value as NaN in all three", () => {
    const f = curvesFixture as Fixture;
    const entry = (f.content as CurvesMessage).curves[0];
    const q = views(f.buffers, pad)[(entry as { q_buf: number }).q_buf] as DataView;
    for (let j = 0; j < 3; j++) expect(q.getUint16((9 * 3 + j) * 2, true)).toBe(NO_VALUE);
    const loss = get(curvesOf(curvesFixture, pad), "3k2j9x0a/loss");
    expect([loss.min?.[9], loss.max?.[9], loss.last[9]]).toEqual([NaN, NaN, NaN]);
  });

  it("decodes a constant curve exactly (hi == lo)", () => {
    const flat = get(curvesOf(curvesFixture, pad), "3k2j9x0a/flat");
    expect(flat.envelope).toBe(true);
    expect(Array.from(flat.steps)).toEqual(Array.from({ length: 10 }, (_, i) => 199 + 200 * i));
    for (const col of [flat.min, flat.max, flat.last]) {
      expect(Array.from(col as ArrayLike<number>)).toEqual(new Array(10).fill(0.25));
    }
  });

  it("reads an envelope's uneven steps from an int32 buffer", () => {
    const gap = get(curvesOf(curvesFixture, pad), "b7/gap");
    expect(Array.from(gap.steps)).toEqual([599, 999, 5399, 5999]);
    expect(gap.count).toBe(2000);
    for (let i = 0; i < 4; i++) expectClose(gap.last[i] as number, gap.steps[i] as number, 5999 / Q);
  });

  it("gives whole curves' steps exactly: first and stride, int32, and past int32", () => {
    const c = curvesOf(curvesFixture, pad);
    const even = get(c, "b7/even");
    expect(even.envelope).toBe(false);
    expect(even.min).toBeNull();
    expect(Array.from(even.steps)).toEqual([10, 15, 20]);
    expect(Array.from(even.last)).toEqual([0.1, 0.2, 0.3]);
    expect(Array.from(get(c, "b7/short").steps)).toEqual([0, 1, 5, 2 ** 31 - 1]);
    expect(Array.from(get(c, "b7/huge").steps)).toEqual([0, 2 ** 40, Number.MAX_SAFE_INTEGER]);
  });

  // Python's _entry appends a whole curve's values, then its steps, and then points values_buf
  // at the last buffer: the steps. See tests/test_compare.py's xfail of the same name.
  it("reads whole curves with uneven steps' values from their own buffer", () => {
    const c = curvesOf(curvesFixture, pad);
    expect(Array.from(get(c, "b7/short").last)).toEqual([1.5, NaN, Infinity, -Infinity]);
    const huge = Array.from(get(c, "b7/huge").last);
    expect(huge).toEqual([0, -0, 1e300]);
    expect(Object.is(huge[1], -0)).toBe(true);
  });
});

describe("decodeCurves on live points and range answers", () => {
  it("reads appended points as whole, marked append", () => {
    const msg = appendFixture.content as CurvesMessage;
    expect(msg.request).toBeUndefined();
    const live = get(curvesOf(appendFixture), "3k2j9x0a/loss");
    expect(live.append).toBe(true);
    expect(live.envelope).toBe(false);
    expect(Array.from(live.steps)).toEqual(Array.from({ length: 20 }, (_, i) => 1000 + i));
    expect(live.last[0]).toBe(1);
    expect(live.last[19]).toBe(0.5);
  });

  it("reads a range answer's request, span and whole points", () => {
    const msg = rangeFixture.content as CurvesMessage;
    expect(msg.request).toBe(7);
    expect(msg.range).toEqual([540, 560]);
    const c = get(curvesOf(rangeFixture), "3k2j9x0a/loss");
    expect(c.envelope).toBe(false);
    expect(Array.from(c.steps)).toEqual(Array.from({ length: 21 }, (_, i) => 540 + i));
    expect(c.last[10]).toBe(5); // the spike, exactly
    expect(c.last[0]).toBe(0.54);
  });

  it("says which buffer is missing", () => {
    const msg = curvesFixture.content as CurvesMessage;
    expect(() => decodeCurves(msg, [])).toThrow(/missing/);
  });
});

// -- Curve ----------------------------------------------------------------------------------

function lossEnvelope(): DecodedCurve {
  return get(curvesOf(curvesFixture), "3k2j9x0a/loss");
}

function whole(run: string, key: string, steps: number[], values: number[], append = false): DecodedCurve {
  return { run, key, append, envelope: false, count: steps.length, steps, last: values, min: null, max: null };
}

describe("Curve", () => {
  it("takes an envelope as three drawn points a bucket and one line point", () => {
    const c = new Curve("3k2j9x0a", "loss");
    c.take(lossEnvelope());
    expect(c.coarse).toBe(true);
    expect(c.perBucket).toBe(100);
    expect(c.draw.length).toBe(30);
    expect(c.line.length).toBe(10);
    expect(isSorted(c.draw.x, c.draw.length)).toBe(true);
    expect(c.line.lastX()).toBe(999);
    expect(c.version).toBe(1);
    expect(c.isWhole(0, 999)).toBe(false);
    expect(c.isWhole(540, 560)).toBe(false);
    const drawn = Array.from(c.draw.y.subarray(0, c.draw.length)).filter(Number.isFinite);
    expectClose(Math.max(...drawn), 5, LOSS_TOL);
  });

  it("replaces a range with its whole points, keeping x sorted and the rest as it was", () => {
    const c = new Curve("3k2j9x0a", "loss");
    c.take(lossEnvelope());
    const before = Array.from(c.line.x.subarray(0, c.line.length));
    const answer = get(curvesOf(rangeFixture), "3k2j9x0a/loss");
    c.take(answer, [540, 560]);
    expect(c.version).toBe(2);
    const x = Array.from(c.line.x.subarray(0, c.line.length));
    expect(isSorted(x)).toBe(true);
    expect(isSorted(c.draw.x, c.draw.length)).toBe(true);
    const inside = x.filter((v) => v >= 540 && v <= 560);
    expect(inside).toEqual(Array.from({ length: 21 }, (_, i) => 540 + i));
    expect(x.filter((v) => v < 540 || v > 560)).toEqual(before.filter((v) => v < 540 || v > 560));
    expect(c.line.valueAt(550)).toBe(5);
    expect(c.coarse).toBe(true); // the rest is still an envelope
    expect(c.isWhole(540, 560)).toBe(true);
    expect(c.isWhole(545, 555)).toBe(true);
    expect(c.isWhole(530, 560)).toBe(false);
    expect(c.isWhole(0, 999)).toBe(false);
  });

  // A bucket is drawn at its last step, so one that reaches into a zoomed view may begin
  // before it: the page asks from `coverFrom` (just after the bucket before), so the answer
  // holds that bucket's every point and replacing it loses nothing. Here bucket 5 (steps
  // 500..599, the spike at 550) reaches into a view of [580, 620].
  it("asks a range from where the buckets it replaces begin, so a spike stays", () => {
    const c = new Curve("3k2j9x0a", "loss");
    c.take(lossEnvelope());
    const start = c.coverFrom(580);
    expect(start).toBe(500);
    const steps = Array.from({ length: 621 - start }, (_, i) => start + i);
    const values = steps.map((s) => (s === 550 ? 5 : s / 1000));
    c.take(whole("3k2j9x0a", "loss", steps, values), [start, 620]);
    const drawn = Array.from(c.draw.y.subarray(0, c.draw.length)).filter(Number.isFinite);
    expectClose(Math.max(...drawn), 5, LOSS_TOL);
    expect(c.isWhole(580, 620)).toBe(true);
    expect(isSorted(c.draw.x, c.draw.length)).toBe(true);
  });

  it("appends only points past its last step", () => {
    const c = new Curve("3k2j9x0a", "loss");
    c.take(lossEnvelope());
    const live = get(curvesOf(appendFixture), "3k2j9x0a/loss");
    c.take(live);
    expect(c.line.length).toBe(30);
    expect(c.line.lastX()).toBe(1019);
    expect(c.draw.length).toBe(50);
    c.take(live); // the same points again (a page that reconnects): nothing doubles
    expect(c.line.length).toBe(30);
    c.take(whole("3k2j9x0a", "loss", [1019, 1020, 1021], [0, 0.4, 0.3], true));
    expect(Array.from(c.line.x.subarray(27, c.line.length))).toEqual([1017, 1018, 1019, 1020, 1021]);
    expect(isSorted(c.line.x, c.line.length)).toBe(true);
    expect(c.line.valueAt(1019)).toBe(0.5); // the point already here stays
  });

  it("is whole everywhere once it takes a whole series, and grows past its first capacity", () => {
    const c = new Curve("r", "k");
    c.take(lossEnvelope());
    const steps = Array.from({ length: 1000 }, (_, i) => i);
    c.take(whole("r", "k", steps, steps.map((s) => s * 2)));
    expect(c.coarse).toBe(false);
    expect(c.perBucket).toBe(1);
    expect(c.isWhole(-1e9, 1e9)).toBe(true);
    expect(c.line.length).toBe(1000);
    expect(c.draw.length).toBe(1000);
    expect(c.line.valueAt(999.5)).toBe(1998);
    expect(c.line.valueAt(-1)).toBeNaN();
    expect(c.line.lowerBound(500)).toBe(500);
  });
});

// -- ProjectState -----------------------------------------------------------------------------

function stateWithEvents(): { s: ProjectState; events: ProjectEvent[] } {
  const s = new ProjectState();
  const events: ProjectEvent[] = [];
  s.listen((e) => events.push(e));
  return { s, events };
}

function handle(s: ProjectState, f: Fixture): void {
  s.handle(f.content as { type?: string }, views(f.buffers));
}

describe("ProjectState", () => {
  it("keeps the runs' rows and says which changed", () => {
    const { s, events } = stateWithEvents();
    handle(s, runsFixture);
    expect([...s.runs.keys()]).toEqual(["3k2j9x0a", "b7"]);
    // "gone" was never here: not reported as removed.
    expect(events).toEqual([{ kind: "runs", changed: ["3k2j9x0a", "b7"], removed: [] }]);
    s.handle({ type: "runs", runs: [{ ...(rows()[1] as RunRowJson), state: "finished" }], removed: [] } as RunsMessage, []);
    expect(s.runs.get("b7")?.state).toBe("finished");
    expect(events[1]).toEqual({ kind: "runs", changed: ["b7"], removed: [] });
  });

  it("keeps curves by run and key, metric keys in order of arrival", () => {
    const { s, events } = stateWithEvents();
    handle(s, runsFixture);
    handle(s, curvesFixture);
    expect(s.keys).toEqual(["loss", "flat", "gap", "short", "even", "huge"]);
    expect(s.curve("3k2j9x0a", "loss")?.coarse).toBe(true);
    expect(s.curve("b7", "even")?.line.length).toBe(3);
    expect(s.curve("b7", "loss")).toBeUndefined();
    const e = events[1];
    expect(e?.kind).toBe("curves");
    if (e?.kind !== "curves") return;
    expect([...e.runs].sort()).toEqual(["3k2j9x0a", "b7"]);
    expect(e.keys.size).toBe(6);
    expect(e.request).toBeNull();
  });

  it("lays a range answer into the curve it answers, naming the request", () => {
    const { s, events } = stateWithEvents();
    handle(s, curvesFixture);
    handle(s, rangeFixture);
    const e = events[1];
    expect(e).toEqual({ kind: "curves", runs: new Set(["3k2j9x0a"]), keys: new Set(["loss"]), request: 7 });
    const c = s.curve("3k2j9x0a", "loss") as Curve;
    expect(c.isWhole(540, 560)).toBe(true);
    expect(c.line.valueAt(550)).toBe(5);
    handle(s, appendFixture);
    expect(c.line.lastX()).toBe(1019);
    expect(isSorted(c.line.x, c.line.length)).toBe(true);
  });

  it("drops a removed run with its curves", () => {
    const { s, events } = stateWithEvents();
    handle(s, runsFixture);
    handle(s, curvesFixture);
    s.handle({ type: "runs", runs: [], removed: ["b7", "never-here"] } as RunsMessage, []);
    expect([...s.runs.keys()]).toEqual(["3k2j9x0a"]);
    expect(s.curves.has("b7")).toBe(false);
    expect(s.curve("3k2j9x0a", "loss")).toBeDefined();
    expect(events[events.length - 1]).toEqual({ kind: "runs", changed: [], removed: ["b7"] });
  });

  it("does not count the wall time as a metric", () => {
    const { s } = stateWithEvents();
    const values = new DataView(new Float64Array([1.7e9, 1.7e9 + 1]).buffer);
    s.handle(
      {
        type: "curves",
        curves: [{ run: "r", key: TIME_KEY, append: false, mode: "points", n: 2, first: 0, stride: 1, values_buf: 0 }],
      } as CurvesMessage,
      [values],
    );
    expect(s.keys).toEqual([]);
    expect(s.curve("r", TIME_KEY)?.line.length).toBe(2);
  });

  it("hands an opened run's wrapped messages to that run's own state", () => {
    const { s, events } = stateWithEvents();
    handle(s, runFixture);
    expect(events).toEqual([{ kind: "run", run: "3k2j9x0a" }]);
    const run = s.opened.get("3k2j9x0a");
    expect(run?.store.series.get("loss")?.length).toBe(3);
    expect(Array.from(run?.store.series.get("loss")?.valuesView() ?? [])).toEqual([0.5, 0.25, 0.125]);
    handle(s, runFixture);
    expect(s.opened.size).toBe(1);
    expect(run?.store.series.get("loss")?.length).toBe(6); // the same state gets more
  });

  it("hands an opened run's media messages to that run's media store", () => {
    const { s, events } = stateWithEvents();
    const name = `${"a".repeat(64)}.png`;
    const item = { file: name, thumb: name, w: 4, h: 4, tw: 4, th: 4, caption: "x", masks: [], boxes: [] };
    const media = {
      type: "media",
      entries: [{ key: "preds", step: 3, kind: "image", index: 0, keep: true, payload: { items: [item] } }],
      files: [name],
    };
    s.handle({ type: "run", run: "r1", message: media } as { type: string }, [new DataView(new Uint8Array([1, 2]).buffer)]);
    expect(events).toEqual([{ kind: "run", run: "r1" }]);
    const run = s.opened.get("r1");
    expect(run).toBeDefined();
    const store = mediaOf(run as object);
    expect(store.order).toEqual(["preds"]);
    expect(store.cached(name)).toEqual(new Uint8Array([1, 2]));
  });

  it("ignores what it does not know, and stops telling a listener that left", () => {
    const s = new ProjectState();
    const events: ProjectEvent[] = [];
    const stop = s.listen((e) => events.push(e));
    s.handle({ type: "nope" }, []);
    s.handle({ type: "run" }, []); // no run, no message
    expect(events).toEqual([]);
    stop();
    handle(s, runsFixture);
    expect(events).toEqual([]);
    expect(s.runs.size).toBe(2);
  });
});

// -- the runs table ---------------------------------------------------------------------------

function mkRun(id: string, config: Record<string, CellValue> = {}, over: Partial<CompareRun> = {}): CompareRun {
  return {
    id, name: id, project: "p", entity: null, state: "finished", created_at: 0, runtime: 0, tags: [],
    notes: "", git: { commit: null, branch: null, dirty: null, url: null }, config, summary: {}, url: null,
    group: null, job_type: null, sweep: null, ...over,
  }; // prettier-ignore
}

function order(runs: CompareRun[], col: string, desc: boolean): string[] {
  return sortRuns(runs, col, desc).map((r) => r.id);
}

describe("sortRuns", () => {
  const runs = [
    mkRun("ten", { lr: 10 }),
    mkRun("none", {}),
    mkRun("two", { lr: 2 }),
    mkRun("text", { lr: "auto" }),
    mkRun("null", { lr: null }),
    mkRun("neg", { lr: -1.5 }),
    mkRun("yes", { lr: true }),
  ];

  it("orders numbers as numbers, then booleans, then text; missing last", () => {
    expect(order(runs, "config:lr", false)).toEqual(["neg", "two", "ten", "yes", "text", "none", "null"]);
  });

  it("puts missing values last when descending too", () => {
    expect(order(runs, "config:lr", true)).toEqual(["text", "yes", "ten", "two", "neg", "none", "null"]);
  });

  it("is stable for equal values and sorts the fixed columns", () => {
    const same = [mkRun("a", { k: 1 }), mkRun("b", { k: 1 }), mkRun("c", { k: 0 })];
    expect(order(same, "config:k", false)).toEqual(["c", "a", "b"]);
    expect(order(same, "config:k", true)).toEqual(["a", "b", "c"]);
    const named = [mkRun("x", {}, { name: "run-10" }), mkRun("y", {}, { name: "run-9" })];
    expect(order(named, "name", false)).toEqual(["x", "y"]); // text sorts as text
    const timed = [mkRun("late", {}, { created_at: 200 }), mkRun("early", {}, { created_at: 100 })];
    expect(order(timed, "created", false)).toEqual(["early", "late"]);
    const noted = [mkRun("empty", {}, { notes: "" }), mkRun("note", {}, { notes: "b" })];
    expect(order(noted, "notes", true)).toEqual(["note", "empty"]);
    const tagged = [mkRun("untagged", {}, { tags: [] }), mkRun("tagged", {}, { tags: ["a"] })];
    expect(order(tagged, "tags", false)).toEqual(["tagged", "untagged"]);
  });

  it("puts NaN after every number ascending", () => {
    const nan = [mkRun("nan", { acc: NaN }), mkRun("hi", { acc: 0.9 }), mkRun("lo", { acc: 0.1 })];
    expect(order(nan, "config:acc", false)).toEqual(["lo", "hi", "nan"]);
    expect(compareValues(NaN, NaN)).toBe(0);
  });

  // compareValues ranks NaN after every number and sortRuns negates it for a descending
  // sort, so a diverged run (val/acc NaN) tops a table sorted by val/acc, best first.
  it("puts NaN after every number descending too", () => {
    const nan = [mkRun("nan", { acc: NaN }), mkRun("hi", { acc: 0.9 }), mkRun("lo", { acc: 0.1 })];
    expect(order(nan, "config:acc", true)).toEqual(["hi", "lo", "nan"]);
  });
});

describe("the group, job type and sweep columns", () => {
  it("are there (after state) only when some run has one", () => {
    const plain = [mkRun("a"), mkRun("b")];
    expect(fixedColumns(plain)).toEqual(["name", "state", "created", "runtime", "tags", "notes", "commit"]);
    const swept = [mkRun("a", {}, { sweep: "abc123" }), mkRun("b", {}, { group: "g" })];
    expect(fixedColumns(swept)).toEqual([
      "name", "state", "group", "sweep", "created", "runtime", "tags", "notes", "commit",
    ]); // prettier-ignore
  });

  it("hold the run's values, and sort with the runs outside any group last", () => {
    const runs = [mkRun("a", {}, { group: "b-grp" }), mkRun("b"), mkRun("c", {}, { group: "a-grp", job_type: "eval" })];
    expect(columnValue(runs[2] as CompareRun, "job_type")).toBe("eval");
    expect(columnValue(runs[1] as CompareRun, "group")).toBeUndefined();
    expect(order(runs, "group", false)).toEqual(["c", "a", "b"]);
    expect(order(runs, "group", true)).toEqual(["a", "c", "b"]);
  });
});

describe("varyingKeys", () => {
  it("keeps the keys whose values differ, a key some runs lack among them", () => {
    const runs = [
      mkRun("a", { lr: 0.1, bs: 32, opt: "adam", betas: [0.9, 0.99], drop: 0.1 }),
      mkRun("b", { lr: 0.2, bs: 32, opt: "adam", betas: [0.9, 0.99] }),
    ];
    expect(varyingKeys(runs, ["lr", "bs", "opt", "betas", "drop"])).toEqual(["lr", "drop"]);
    expect(varyingKeys(runs.slice(0, 1), ["lr", "bs"])).toEqual([]);
    expect(varyingKeys([], ["lr"])).toEqual([]);
  });

  it("tells a null from a missing key", () => {
    const runs = [mkRun("a", { k: null }), mkRun("b", {})];
    expect(varyingKeys(runs, ["k"])).toEqual(["k"]);
  });

  // JSON.stringify writes NaN, Infinity and null alike ("null"): runs that differ only there
  // look the same.
  it("tells NaN from inf from null", () => {
    const runs = [mkRun("a", { eps: NaN }), mkRun("b", { eps: Infinity }), mkRun("c", { eps: null })];
    expect(varyingKeys(runs.slice(0, 2), ["eps"])).toEqual(["eps"]);
    expect(varyingKeys([runs[0] as CompareRun, runs[2] as CompareRun], ["eps"])).toEqual(["eps"]);
  });
});

describe("cellText", () => {
  it("writes each kind of value as text", () => {
    expect(cellText(undefined)).toBe("");
    expect(cellText(null)).toBe("");
    expect(cellText(NaN)).toBe("NaN");
    expect(cellText(-Infinity)).toBe("-inf");
    expect(cellText(0.001)).toBe("0.001");
    expect(cellText(true)).toBe("true");
    expect(cellText("<b>x</b>")).toBe("<b>x</b>");
    expect(cellText([1, "a", NaN])).toBe("1, a, NaN");
    expect(cellText({ a: 1 })).toBe('{"a":1}');
    expect(cellText(SHA, "commit")).toBe("0123abcd");
    expect(cellText(61.5, "runtime")).toBe("1m 01s");
    expect(cellText(NaN, "created")).toBe("");
    expect(cellText(String(2n ** 60n))).toBe("1152921504606846976");
  });
});

// -- grouped rows -------------------------------------------------------------------------------

describe("groupEnvelope", () => {
  const xs = Array.from({ length: 11 }, (_, i) => i);

  it("is the mean, min and max of the members at each column", () => {
    const g = groupEnvelope(
      [
        { x: xs, y: xs.map(() => 1), n: 11 },
        { x: xs, y: xs.map(() => 3), n: 11 },
      ],
      0,
      10,
      10,
    );
    expect(g.x).toEqual(xs);
    expect(g.mean).toEqual(new Array(11).fill(2));
    expect(g.lo).toEqual(new Array(11).fill(1));
    expect(g.hi).toEqual(new Array(11).fill(3));
    expect(g.bandX).toEqual([...xs, ...xs.slice().reverse()]);
    expect(g.bandY).toEqual([...new Array(11).fill(3), ...new Array(11).fill(1)]);
  });

  it("takes each member's last value at or before the column", () => {
    const g = groupEnvelope(
      [
        { x: [0, 4, 8], y: [0, 4, 8], n: 3 },
        { x: [0, 10], y: [2, 2], n: 2 },
      ],
      0,
      8,
      2,
    );
    expect(g.x).toEqual([0, 4, 8]);
    expect(g.mean).toEqual([1, 3, 5]);
    expect(g.lo).toEqual([0, 2, 2]);
    expect(g.hi).toEqual([2, 4, 8]);
  });

  it("does not let a short member drag the mean past its end, nor before its start", () => {
    const g = groupEnvelope(
      [
        { x: xs, y: xs.map(() => 1), n: 11 },
        { x: xs.slice(0, 6), y: new Array(6).fill(3), n: 6 }, // ends at x = 5
        { x: [8, 9, 10], y: [5, 5, 5], n: 3 }, // starts at x = 8
      ],
      0,
      10,
      10,
    );
    expect(g.mean.slice(0, 6)).toEqual(new Array(6).fill(2));
    expect(g.mean.slice(6, 8)).toEqual([1, 1]);
    expect(g.hi.slice(6, 8)).toEqual([1, 1]);
    expect(g.mean.slice(8)).toEqual([3, 3, 3]);
    expect(g.hi.slice(8)).toEqual([5, 5, 5]);
  });

  it("leaves out NaN, non-positive values on a log axis, and empty columns", () => {
    const g = groupEnvelope(
      [
        { x: [0, 1, 2], y: [NaN, -1, 4], n: 3 },
        { x: [0, 1, 2], y: [2, 2, 2], n: 3 },
      ],
      0,
      2,
      2,
      true,
    );
    expect(g.mean).toEqual([2, 2, 3]);
    const none = groupEnvelope([{ x: [0, 1], y: [NaN, NaN], n: 2 }], 0, 1, 4);
    expect(none.x).toEqual([]);
    expect(groupEnvelope([{ x: xs, y: xs, n: 11 }], 5, 5, 10).x).toEqual([]);
    expect(groupEnvelope([], 0, 10, 10).x).toEqual([]);
  });
});

// -- colours ----------------------------------------------------------------------------------

describe("runColor", () => {
  it("hashes with 32-bit FNV-1a", () => {
    expect(hashString("")).toBe(0x811c9dc5);
    expect(hashString("a")).toBe(0xe40c292c);
    expect(hashString("foobar")).toBe(0xbf9cf968);
  });

  it("gives a run the same colour of the palette whatever other runs there are", () => {
    const ids = Array.from({ length: 200 }, (_, i) => `run${i}`);
    const first = ids.map(runColor);
    expect(ids.map(runColor)).toEqual(first);
    expect(first.every((c) => RUN_PALETTE.includes(c))).toBe(true);
    expect(runColor("3k2j9x0a")).toBe(RUN_PALETTE[hashString("3k2j9x0a") % RUN_PALETTE.length]);
    expect(new Set(first).size).toBe(RUN_PALETTE.length); // 200 runs use every colour
  });
});
