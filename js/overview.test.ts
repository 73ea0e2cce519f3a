// The Overview section's facts, without a DOM: what each line says, which get a link.

import { describe, expect, it } from "vitest";

import overview from "../tests/fixtures/protocol/overview.json";
import type { OverviewMessage, RunHeader, RunOverview } from "./protocol";
import { decodeOverview } from "./protocol";
import type { Fact } from "./overview";
import { formatStart, groupGpus, overviewFacts, runtimeSeconds, shortCommit } from "./overview";

const fixture = (): RunOverview => decodeOverview(overview.content as OverviewMessage);

function header(elapsed: number): RunHeader {
  return {
    id: "a", name: "n", project: "p", state: "running", step: 1, created_at: 0, elapsed,
    rate: null, last: {}, alerts: [], error: null, sync: null, metrics: [],
  }; // prettier-ignore
}

function byKey(o: RunOverview, h: RunHeader | null = null): Record<string, Fact> {
  return Object.fromEntries(overviewFacts(o, h).map((f) => [f.key, f]));
}

describe("overviewFacts", () => {
  it("shows the short commit, the full one on hover, a link and the dirty flag", () => {
    const f = byKey(fixture()).commit!;
    expect(f.text).toBe("0123456");
    expect(f.title).toBe("0123456789abcdef0123456789abcdef01234567");
    expect(f.href).toBe("https://github.com/o/r/commit/0123456789abcdef0123456789abcdef01234567");
    expect(f.badge).toBe("dirty");
  });

  it("lists code, system and times in order, leaving out what was not recorded", () => {
    const o = fixture();
    expect(overviewFacts(o, null).map((f) => [f.label, f.text])).toEqual([
      ["commit", "0123456"],
      ["branch", "main"],
      ["notebook", "/home/me/train.ipynb"],
      ["host", "gpu-box"],
      ["OS", "Linux-6.1-x86_64"],
      ["Python", "3.12.3"],
      ["torch", "2.4.0"],
      ["nbtrack", "0.1.0"],
      ["GPUs", "2 × NVIDIA H100"],
      ["started", formatStart(o.created_at)],
      ["runtime", "1m 01s"],
    ]);
    const bare: RunOverview = {
      ...o,
      code: {
        commit: null, branch: null, dirty: null, url: null, program: "train.py",
        colab: false, colab_url: null,
      }, // prettier-ignore
      system: { host: null, os: null, python: "3.12", torch: null, nbtrack: null, gpus: [] },
      finished_at: null,
    };
    expect(overviewFacts(bare, null).map((f) => f.label)).toEqual(["program", "Python", "started"]);
  });

  it("links only http(s): a javascript: or data: URL from a server stays text", () => {
    for (const url of ["javascript:alert(1)", "data:text/html,<b>x</b>", "not a url"]) {
      const o = fixture();
      o.code = { ...o.code, url, colab: true, colab_url: url };
      const f = byKey(o);
      expect(f.commit!.href).toBeUndefined();
      expect(f.notebook!.href).toBeUndefined();
    }
  });

  it("links a Colab notebook when its URL is known, and says Colab when it is not", () => {
    const o = fixture();
    const colab = "https://colab.research.google.com/drive/1AbCdEfGhIjK";
    o.code = { ...o.code, colab: true, colab_url: colab };
    expect(byKey(o).notebook).toMatchObject({
      text: "open in Colab",
      href: colab,
    });
    o.code = { ...o.code, program: null, colab_url: null };
    expect(byKey(o).notebook!.text).toBe("Colab (notebook not known)");
  });
});

describe("runtimeSeconds", () => {
  it("follows the header's elapsed, else the overview's end, else says nothing", () => {
    const o = fixture();
    expect(runtimeSeconds(o, header(5))).toBe(5);
    expect(runtimeSeconds(o, null)).toBe(61.5);
    expect(runtimeSeconds({ ...o, finished_at: null }, null)).toBeNull();
    expect(byKey(o, header(3725)).runtime!.text).toBe("1h 02m");
  });
});

describe("small formats", () => {
  it("shortens a commit and counts identical GPUs", () => {
    expect(shortCommit("0123456789abcdef")).toBe("0123456");
    expect(groupGpus(["A100", "T4", "A100"])).toBe("2 × A100, T4");
    expect(groupGpus([])).toBe("");
  });

  it("writes the start as a local date and time, and a dash for no time", () => {
    expect(formatStart(NaN)).toBe("–");
    expect(formatStart(1_700_000_000)).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    const d = new Date(2024, 0, 2, 3, 4, 5);
    expect(formatStart(d.getTime() / 1000)).toBe("2024-01-02 03:04:05");
  });
});
