import { describe, expect, it } from "vitest";

import { safeHref, syncDetail, syncLabel } from "./header";
import type { SyncStatus } from "./protocol";

function sync(state: string, extra: Partial<SyncStatus> = {}): SyncStatus {
  return { state, behind: 0, reason: null, url: null, ...extra };
}

describe("the header's sync state", () => {
  it("names each state", () => {
    expect(syncLabel(sync("local"))).toBe("local only");
    expect(syncLabel(sync("syncing", { behind: 10 }))).toBe("syncing");
    expect(syncLabel(sync("synced"))).toBe("synced");
    expect(syncLabel(sync("behind", { behind: 12345 }))).toBe("12,345 points behind");
    expect(syncLabel(sync("behind", { behind: 1 }))).toBe("1 point behind");
    expect(syncLabel(sync("unreachable", { reason: "timed out" }))).toBe("server unreachable");
    expect(syncLabel(sync("refused", { reason: "quota exceeded" }))).toBe("upload refused: quota exceeded");
    expect(syncLabel(sync("refused"))).toBe("upload refused");
    expect(syncLabel(sync("from-a-newer-python"))).toBe("from-a-newer-python");
  });

  it("keeps the details for the tooltip", () => {
    expect(syncDetail(sync("unreachable", { behind: 3, reason: "timed out" }))).toBe(
      "3 points not yet on the server; timed out",
    );
    expect(syncDetail(sync("behind", { behind: 3 }))).toBe("");
    expect(syncDetail(sync("refused", { reason: "quota" }))).toBe("");
  });

  it("links only to http(s) pages", () => {
    expect(safeHref("https://nbtrack.example/p/runs/a b")).toBe("https://nbtrack.example/p/runs/a%20b");
    expect(safeHref("http://10.0.0.2:8000/r")).toBe("http://10.0.0.2:8000/r");
    for (const bad of ["javascript:alert(1)", " JavaScript:alert(1)", "data:text/html,x", "/relative", "", null]) {
      expect(safeHref(bad)).toBeNull();
    }
  });
});
