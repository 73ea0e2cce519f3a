// The header: who the run is, where it stands, and the last value of each metric. A failed
// run keeps its last state and shows in red with its error, as tqdm does. When the run has
// a team server, where it stands with it, and a link to its page there.
//
// Everything here is text set through textContent: names, errors, refusal reasons and
// URLs come from users and servers.

import { formatDuration, formatRate, formatValue, groupDigits } from "./format";
import type { RunHeader, SyncStatus } from "./protocol";

const STATE_LABEL: Record<string, string> = {
  running: "running",
  finished: "finished",
  failed: "failed",
  crashed: "crashed",
  interrupted: "interrupted",
};

function points(n: number): string {
  return `${groupDigits(n)} ${n === 1 ? "point" : "points"}`;
}

/** What the header says of a run's standing with the team server. */
export function syncLabel(s: SyncStatus): string {
  switch (s.state) {
    case "local":
      return "local only";
    case "syncing":
      return "syncing";
    case "synced":
      return "synced";
    case "behind":
      return `${points(s.behind)} behind`;
    case "unreachable":
      return "server unreachable";
    case "refused":
      return s.reason ? `upload refused: ${s.reason}` : "upload refused";
    default:
      return s.state;
  }
}

/** The details behind the label, for its tooltip. */
export function syncDetail(s: SyncStatus): string {
  const parts: string[] = [];
  if (s.behind > 0 && s.state !== "behind") parts.push(`${points(s.behind)} not yet on the server`);
  if (s.reason && s.state !== "refused") parts.push(s.reason);
  return parts.join("; ");
}

/**
 * `url` when it is an absolute http(s) URL, else null: a link the server sends must not
 * become `javascript:` or `data:` in the page.
 */
export function safeHref(url: string | null): string | null {
  if (!url) return null;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  return u.protocol === "http:" || u.protocol === "https:" ? u.href : null;
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  cls: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

export class Header {
  readonly el = el("div", "nbt-header");
  private readonly title = el("div", "nbt-title");
  private readonly name = el("span", "nbt-name");
  private readonly path = el("span", "nbt-path");
  private readonly state = el("span", "nbt-state");
  private readonly facts = el("div", "nbt-facts");
  private readonly last = el("div", "nbt-last");
  private readonly alerts = el("div", "nbt-alerts");
  private readonly error = el("details", "nbt-error");
  private readonly sync = el("span", "nbt-sync");
  private readonly syncText = el("span", "nbt-sync-text");
  private readonly syncLink = el("a", "nbt-sync-link", "open on server");

  constructor() {
    this.title.append(this.state, this.name, this.path);
    this.syncLink.rel = "noopener noreferrer";
    this.syncLink.target = "_blank";
    this.sync.append(this.syncText, this.syncLink);
    this.sync.hidden = true;
    this.el.append(this.title, this.facts, this.sync, this.last, this.alerts, this.error);
    this.error.hidden = true;
  }

  private updateSync(s: SyncStatus | null): void {
    if (!s) {
      this.sync.hidden = true;
      delete this.sync.dataset.syncState;
      return;
    }
    this.sync.hidden = false;
    this.sync.dataset.syncState = s.state;
    const label = syncLabel(s);
    const detail = syncDetail(s);
    this.syncText.textContent = label;
    // The whole text too: a long refusal reason is cut short on screen.
    this.sync.title = detail ? `${label} (${detail})` : label;
    const href = safeHref(s.url);
    if (href) {
      if (this.syncLink.getAttribute("href") !== href) this.syncLink.href = href;
      this.syncLink.hidden = false;
    } else {
      this.syncLink.removeAttribute("href");
      this.syncLink.hidden = true;
    }
  }

  update(h: RunHeader, root: HTMLElement): void {
    this.name.textContent = h.name;
    this.path.textContent = `${h.project}/${h.id}`;
    this.state.textContent = STATE_LABEL[h.state] ?? h.state;
    this.state.dataset.state = h.state;
    root.dataset.state = h.state;
    const rate = h.rate ?? NaN;
    const facts: [string, string][] = [
      ["step", formatValue(Math.max(0, h.step - 1))],
      ["elapsed", formatDuration(h.elapsed)],
    ];
    if (h.state === "running") facts.push(["speed", formatRate(rate)]);
    this.facts.replaceChildren(
      ...facts.map(([k, v]) => {
        const f = el("span", "nbt-fact");
        f.append(el("span", "nbt-fact-key", k), el("span", "nbt-fact-value", v));
        return f;
      }),
    );
    const keys = Object.keys(h.last).sort();
    this.last.replaceChildren(
      ...keys.map((k) => {
        const chip = el("span", "nbt-chip");
        chip.dataset.metric = k;
        const v = h.last[k] as number;
        chip.append(el("span", "nbt-chip-key", k), el("span", "nbt-chip-value", formatValue(v)));
        return chip;
      }),
    );
    this.alerts.replaceChildren(
      ...h.alerts.map((a) => {
        const row = el("div", "nbt-alert");
        row.dataset.level = a.level;
        const at = a.step === null ? "" : ` (step ${a.step})`;
        row.append(el("strong", "", a.title + at), el("span", "", a.text ? `  ${a.text}` : ""));
        return row;
      }),
    );
    this.updateSync(h.sync);
    if (h.error) {
      this.error.hidden = false;
      const summary = el("summary", "", lastLine(h.error));
      const pre = el("pre", "", h.error);
      this.error.replaceChildren(summary, pre);
    } else {
      this.error.hidden = true;
    }
  }
}

function lastLine(text: string): string {
  const lines = text.trim().split("\n");
  return lines[lines.length - 1] ?? text;
}
