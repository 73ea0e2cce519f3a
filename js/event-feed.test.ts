// The standalone page's feed against a stand-in EventSource: what the browser's does
// (open, a dropped connection it retries itself, a failure it gives up on) is driven by
// hand, with the fixture messages Python encodes as the data.

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import header from "../tests/fixtures/protocol/header.json";
import headerSync from "../tests/fixtures/protocol/header_sync.json";
import histograms from "../tests/fixtures/protocol/histograms.json";
import points from "../tests/fixtures/protocol/points.json";
import type { EventSourceLike, FeedStatus } from "./event-feed";
import { EventFeed, FeedError, decodeBase64, decodeEvent, parseEventId } from "./event-feed";
import { RunState } from "./run-state";

interface Wire {
  content: unknown;
  buffers: string[];
}

class FakeSource implements EventSourceLike {
  readyState = 0;
  private readonly listeners = new Map<string, ((e: Event) => void)[]>();

  constructor(readonly url: string) {}

  addEventListener(type: string, fn: (e: Event) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), fn]);
  }

  close(): void {
    this.readyState = 2;
  }

  private emit(type: string, fields: Record<string, unknown> = {}): void {
    for (const fn of this.listeners.get(type) ?? []) fn({ type, ...fields } as unknown as Event);
  }

  opened(): void {
    this.readyState = 1;
    this.emit("open");
  }

  /** The connection dropped; the browser retries by itself. */
  dropped(): void {
    this.readyState = 0;
    this.emit("error");
  }

  /** A reconnect got an HTTP error; the browser gives up. */
  failed(): void {
    this.readyState = 2;
    this.emit("error");
  }

  send(id: number, messages: Wire[]): void {
    this.event(id, JSON.stringify({ messages }));
  }

  event(id: number | null, data: string): void {
    this.emit("messages", { data, lastEventId: id === null ? "" : String(id) });
  }

  ping(): void {
    this.emit("ping", { data: "" });
  }
}

function b64(values: number[]): string {
  const bytes = new Uint8Array(Float64Array.from(values).buffer);
  return btoa(String.fromCharCode(...bytes));
}

/** A points message of `key`: steps first, first + 1, ..., one per value. */
function pts(key: string, first: number, values: number[]): Wire {
  const series = [{ key, n: values.length, first, stride: 1, values: "f64", values_buf: 0 }];
  return { content: { type: "points", t0: 0, series }, buffers: [b64(values)] };
}

function setup(retryMs?: number[]) {
  const sources: FakeSource[] = [];
  const statuses: FeedStatus[] = [];
  const errors: unknown[] = [];
  const state = new RunState();
  const feed = new EventFeed("/runs/r/events", {
    handle: (c, b) => state.handle(c, b),
    onStatus: (s) => statuses.push(s),
    onError: (e) => errors.push(e),
    open: (url) => {
      const s = new FakeSource(url);
      sources.push(s);
      return s;
    },
    retryMs,
  });
  const steps = (key: string): number[] => Array.from(state.store.series.get(key)?.stepsView() ?? []);
  const last = (): FakeSource => sources[sources.length - 1] as FakeSource;
  return { sources, statuses, errors, state, feed, steps, last };
}

describe("decodeBase64", () => {
  it("gives every byte back, in a view of its own", () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const dv = decodeBase64(btoa(String.fromCharCode(...all)));
    expect(Array.from(new Uint8Array(dv.buffer, dv.byteOffset, dv.byteLength))).toEqual(Array.from(all));
    expect(dv.byteOffset).toBe(0);
    expect(decodeBase64("").byteLength).toBe(0);
  });

  it("gives the same bytes through Uint8Array.fromBase64 (a stand-in where Node has none)", () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const b64 = btoa(String.fromCharCode(...all));
    const fromBase64 = (s: string): Uint8Array => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
    const dv = decodeBase64(b64, fromBase64);
    expect(Array.from(new Uint8Array(dv.buffer, dv.byteOffset, dv.byteLength))).toEqual(Array.from(all));
    expect(dv.byteOffset).toBe(0);
  });
});

describe("decodeEvent", () => {
  it("decodes the messages Python encodes, buffers and all", () => {
    const data = JSON.stringify({ messages: [points, histograms, header] });
    const out = decodeEvent(data);
    expect(out.map((m) => m.content.type)).toEqual(["points", "histograms", "header"]);
    expect(out[0]!.buffers.map((b) => b.byteLength)).toEqual(points.buffers.map((s) => atob(s).length));
    expect(out[2]!.buffers).toEqual([]);
  });

  it("leaves out the types the page does not take (BokehJS it loads itself)", () => {
    const data = JSON.stringify({ messages: [{ content: { type: "bokeh" }, buffers: ["AAAA"] }, header] });
    expect(decodeEvent(data).map((m) => m.content.type)).toEqual(["header"]);
  });

  it.each([
    ["not JSON", "{"],
    ["no messages list", JSON.stringify({ message: [] })],
    ["a message without a type", JSON.stringify({ messages: [{ content: {}, buffers: [] }] })],
    ["buffers that are not strings", JSON.stringify({ messages: [{ content: { type: "points" }, buffers: [1] }] })],
    ["a buffer that is not base64", JSON.stringify({ messages: [{ content: { type: "points" }, buffers: ["*"] }] })],
  ])("refuses %s", (_, data) => {
    expect(() => decodeEvent(data)).toThrow(FeedError);
  });
});

describe("parseEventId", () => {
  it("reads a non-negative integer and nothing else", () => {
    expect(parseEventId("42")).toBe(42);
    expect(parseEventId("0")).toBe(0);
    for (const bad of ["", undefined, "-1", "1.5", "x", "99999999999999999999"]) expect(parseEventId(bad)).toBeNull();
  });
});

describe("EventFeed", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("hands each message of the fixture to RunState as the comm would", () => {
    const { last, state, steps } = setup();
    last().opened();
    last().send(1, [points, histograms, headerSync]);
    expect(steps("even")).toEqual([10, 15, 20, 25]);
    expect(steps("large")).toEqual([0, 3, 2 ** 40, Number.MAX_SAFE_INTEGER]);
    expect(Array.from(state.store.series.get("even")!.valuesView())).toEqual([1.5, NaN, Infinity, -Infinity]);
    expect(state.histograms.map((e) => [e.key, e.step])).toEqual([["w", 0], ["w", 10], ["grad", 10], ["b", 10]]);
    expect(state.header?.sync).toEqual({
      state: "refused",
      behind: 1234,
      reason: "<b>quota</b> exceeded ✓",
      url: "https://nbtrack.example/fashion-cnn/runs/3k2j9x0a",
    });
  });

  it("says connecting, then live, and reconnecting while the browser retries", () => {
    const { feed, last, sources, statuses, steps } = setup();
    expect(feed.status).toBe("connecting");
    last().opened();
    last().send(1, [pts("loss", 0, [1, 2])]);
    last().dropped();
    expect(feed.status).toBe("reconnecting");
    vi.advanceTimersByTime(60_000);
    expect(sources).toHaveLength(1); // the browser's own retry: no new EventSource
    last().opened();
    // The server resumes after Last-Event-ID.
    last().send(2, [pts("loss", 2, [3])]);
    expect(statuses).toEqual(["live", "reconnecting", "live"]);
    expect(steps("loss")).toEqual([0, 1, 2]);
    expect(feed.lastId).toBe(2);
  });

  it("opens a fresh EventSource when the browser gives up, and skips what it replays", () => {
    const { errors, feed, last, sources, statuses, steps } = setup([100, 400]);
    last().opened();
    last().send(5, [pts("loss", 0, [1, 2])]);
    last().send(6, [pts("loss", 2, [3])]);
    last().failed();
    expect(feed.status).toBe("reconnecting");
    vi.advanceTimersByTime(99);
    expect(sources).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sources).toHaveLength(2);
    expect(sources[0]!.readyState).toBe(2);
    // Failing again waits longer; an open resets the pause.
    last().failed();
    vi.advanceTimersByTime(399);
    expect(sources).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(sources).toHaveLength(3);
    expect(last().url).toBe("/runs/r/events");
    last().opened();
    // No Last-Event-ID on a fresh EventSource: the server starts over.
    last().send(5, [pts("loss", 0, [1, 2])]);
    last().send(6, [pts("loss", 2, [3])]);
    last().send(7, [pts("loss", 3, [4])]);
    expect(steps("loss")).toEqual([0, 1, 2, 3]);
    expect(statuses).toEqual(["live", "reconnecting", "live"]);
    last().failed();
    vi.advanceTimersByTime(100);
    expect(sources).toHaveLength(4);
    expect(errors).toEqual([]);
  });

  it("ignores pings, and events from an EventSource it has left", () => {
    const { last, sources, state, steps } = setup([10]);
    const handle = vi.spyOn(state, "handle");
    last().opened();
    last().ping();
    expect(handle).not.toHaveBeenCalled();
    const old = last();
    old.failed();
    vi.advanceTimersByTime(10);
    expect(sources).toHaveLength(2);
    old.send(1, [pts("loss", 0, [1])]);
    expect(steps("loss")).toEqual([]);
  });

  it("reports a bad event or message and goes on with the next", () => {
    const { errors, last, steps } = setup();
    last().opened();
    last().event(1, "not json");
    // A points message whose buffer is missing: RunState throws, the next message counts.
    const broken = { ...pts("loss", 0, [1]), buffers: [] };
    last().send(2, [broken, pts("acc", 0, [0.5])]);
    last().send(3, [pts("loss", 0, [1])]);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toBeInstanceOf(FeedError);
    expect(steps("acc")).toEqual([0]);
    expect(steps("loss")).toEqual([0]);
  });

  it("stops on close, a pending fresh EventSource included", () => {
    const { feed, last, sources } = setup([10]);
    last().opened();
    last().failed();
    feed.close();
    vi.advanceTimersByTime(1000);
    expect(sources).toHaveLength(1);
    const { feed: feed2, last: last2 } = setup();
    feed2.close();
    expect(last2().readyState).toBe(2);
  });
});
