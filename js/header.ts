// The header: who the run is, where it stands, and the last value of each metric. A failed
// run keeps its last state and shows in red with its error, as tqdm does.

import { formatDuration, formatRate, formatValue } from "./format";
import type { RunHeader } from "./protocol";

const STATE_LABEL: Record<string, string> = {
  running: "running",
  finished: "finished",
  failed: "failed",
  crashed: "crashed",
  interrupted: "interrupted",
};

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

  constructor() {
    this.title.append(this.state, this.name, this.path);
    this.el.append(this.title, this.facts, this.last, this.alerts, this.error);
    this.error.hidden = true;
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
