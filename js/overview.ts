// The Overview section: what a run is (notes, tags, config) and where it ran (its code:
// commit, branch, the notebook; its system: host, OS, versions, GPUs), with its start time
// and runtime. Shown above the charts, open by default, folded shut like any section.
//
// Everything here is user-supplied (names, notes, tags, config keys and values, paths) and
// set through textContent only. The one link the section makes from the data, the commit's
// page, Python built from the git remote; it and the Colab link are used only when they are
// http(s) (`safeHref`), and open in a new tab with no opener and no referrer.

import { formatDuration } from "./format";
import { safeHref } from "./header";
import type { RunHeader, RunOverview } from "./protocol";

/**
 * The section's name in the layout's `collapsed` list. A chart section's name is a key's
 * prefix before its first "/", so a name with a "/" in it is never one.
 */
export const OVERVIEW_SECTION = "/overview";

/** One line of the section's facts: its label, its text and, for some, a link. */
export interface Fact {
  /** Stable name, as `data-fact` in the page (tests and the CSS find lines by it). */
  key: string;
  label: string;
  text: string;
  /** The whole value where the text is cut short (the commit's full sha). */
  title?: string;
  /** An http(s) link, already checked. */
  href?: string;
  /** A small flag after the text ("dirty"). */
  badge?: string;
}

/** The first 7 characters of a commit, as git shows it short. */
export function shortCommit(sha: string): string {
  return sha.slice(0, 7);
}

/** Identical GPUs counted: `groupGpus(["A100", "A100", "T4"])` is "2 × A100, T4". */
export function groupGpus(gpus: string[]): string {
  const counts = new Map<string, number>();
  for (const g of gpus) counts.set(g, (counts.get(g) ?? 0) + 1);
  return [...counts].map(([g, n]) => (n > 1 ? `${n} × ${g}` : g)).join(", ");
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

/**
 * A Unix time as the local date and time, "2024-05-01 14:03:22"; "–" when it is not a
 * time. Written without Intl: its first use in a page loads locale data (see format.ts).
 */
export function formatStart(unixSeconds: number): string {
  if (!Number.isFinite(unixSeconds)) return "–";
  const d = new Date(unixSeconds * 1000);
  const date = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  return `${date} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/**
 * How long the run has run: the header's elapsed when there is a header (it is sent with
 * each update, so the runtime moves with it while the run runs), else from the overview's
 * own times; null when neither tells.
 */
export function runtimeSeconds(o: RunOverview, h: RunHeader | null): number | null {
  if (h && Number.isFinite(h.elapsed)) return h.elapsed;
  if (o.finished_at !== null && Number.isFinite(o.created_at)) {
    return Math.max(0, o.finished_at - o.created_at);
  }
  return null;
}

/** The section's facts, in the order shown; a fact the run did not record is left out. */
export function overviewFacts(o: RunOverview, h: RunHeader | null): Fact[] {
  const facts: Fact[] = [];
  const add = (key: string, label: string, text: string | null, more: Partial<Fact> = {}): void => {
    if (text !== null && text !== "") facts.push({ key, label, text, ...more });
  };
  const c = o.code;
  if (c.commit) {
    const href = safeHref(c.url);
    add("commit", "commit", shortCommit(c.commit), {
      title: c.commit,
      ...(href ? { href } : {}),
      ...(c.dirty ? { badge: "dirty" } : {}),
    });
  }
  add("branch", "branch", c.branch);
  const colab = safeHref(c.colab_url);
  if (colab) add("notebook", "notebook", "open in Colab", { href: colab, title: colab });
  else if (c.colab) add("notebook", "notebook", c.program ?? "Colab (notebook not known)");
  else add("program", c.program?.endsWith(".ipynb") ? "notebook" : "program", c.program);
  const s = o.system;
  add("host", "host", s.host);
  add("os", "OS", s.os);
  add("python", "Python", s.python);
  add("torch", "torch", s.torch);
  add("nbtrack", "nbtrack", s.nbtrack);
  add("gpus", s.gpus.length === 1 ? "GPU" : "GPUs", s.gpus.length ? groupGpus(s.gpus) : null);
  if (Number.isFinite(o.created_at)) {
    add("started", "started", formatStart(o.created_at), {
      title: new Date(o.created_at * 1000).toISOString(),
    });
  }
  const runtime = runtimeSeconds(o, h);
  add("runtime", "runtime", runtime === null ? null : formatDuration(runtime));
  return facts;
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  cls: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

export interface OverviewOptions {
  /** Open at first (the layout did not fold it shut). */
  open: boolean;
  /** The person opened or folded it. */
  onToggle: (open: boolean) => void;
}

export class OverviewSection {
  readonly el = el("details", "nbt-section nbt-overview");
  private readonly body = el("div", "nbt-ov-body");
  private overview: RunOverview | null = null;
  private shown = "";
  private header: RunHeader | null = null;
  private runtime: HTMLElement | null = null;

  constructor(options: OverviewOptions) {
    this.el.dataset.section = "overview";
    this.el.open = options.open;
    this.el.hidden = true; // until the first overview: an older kernel sends none
    const summary = el("summary", "", "overview");
    this.el.append(summary, this.body);
    this.el.addEventListener("toggle", () => {
      // Also fired for the `open` set just above: nothing changed then, nothing to save.
      if (this.el.open !== options.open) {
        options.open = this.el.open;
        options.onToggle(this.el.open);
      }
    });
  }

  update(o: RunOverview): void {
    // The server's page gets it again with each change of the run's fields (its summary
    // too): the same overview is not drawn again, so a selection or a tooltip stays.
    const shown = JSON.stringify(o);
    this.overview = o;
    this.el.hidden = false;
    if (shown === this.shown) return;
    this.shown = shown;
    this.render();
  }

  /** A new header: the runtime moves with its elapsed; nothing else is drawn again. */
  updateHeader(h: RunHeader): void {
    this.header = h;
    const o = this.overview;
    if (!o) return;
    const seconds = runtimeSeconds(o, h);
    if (!this.runtime) {
      if (seconds !== null) this.render();
      return;
    }
    this.runtime.textContent = seconds === null ? "–" : formatDuration(seconds);
  }

  private render(): void {
    const o = this.overview;
    if (!o) return;
    const parts: HTMLElement[] = [];
    if (o.notes) parts.push(el("div", "nbt-ov-notes", o.notes));
    if (o.tags.length) {
      const tags = el("div", "nbt-ov-tags");
      for (const t of o.tags) tags.append(el("span", "nbt-tag", t));
      parts.push(tags);
    }
    const grid = el("div", "nbt-ov-grid");
    grid.append(this.facts(o), this.config(o));
    parts.push(grid);
    this.body.replaceChildren(...parts);
  }

  private facts(o: RunOverview): HTMLElement {
    const dl = el("dl", "nbt-ov-facts");
    this.runtime = null;
    for (const f of overviewFacts(o, this.header)) {
      const dt = el("dt", "", f.label);
      const dd = el("dd", "");
      dd.dataset.fact = f.key;
      let value: HTMLElement;
      if (f.href) {
        const a = el("a", "nbt-ov-link", f.text);
        a.href = f.href;
        a.rel = "noopener noreferrer";
        a.target = "_blank";
        value = a;
      } else {
        value = el("span", "nbt-ov-value", f.text);
      }
      if (f.title) value.title = f.title;
      dd.append(value);
      if (f.badge) dd.append(el("span", "nbt-ov-badge", f.badge));
      if (f.key === "runtime") this.runtime = value;
      dl.append(dt, dd);
    }
    return dl;
  }

  private config(o: RunOverview): HTMLElement {
    const box = el("div", "nbt-ov-config");
    const title = el("div", "nbt-ov-config-title", "config");
    title.append(el("span", "nbt-section-count", String(o.config.length)));
    box.append(title);
    if (!o.config.length) {
      box.append(el("div", "nbt-ov-empty", "no config"));
      return box;
    }
    const table = el("table", "");
    const body = el("tbody", "");
    for (const [key, value] of o.config) {
      const tr = el("tr", "");
      tr.dataset.key = key;
      const td = el("td", "", value);
      td.title = value; // the whole value where the cell cuts it short
      tr.append(el("th", "", key), td);
      body.append(tr);
    }
    table.append(body);
    box.append(table);
    return box;
  }
}

export const OVERVIEW_CSS = `
.nbtrack-dashboard .nbt-overview[hidden] { display: none; }
.nbtrack-dashboard .nbt-ov-body { display: grid; gap: 8px; padding: 2px 0 4px; }
.nbtrack-dashboard .nbt-ov-notes { white-space: pre-wrap; overflow-wrap: anywhere; }
.nbtrack-dashboard .nbt-ov-tags { display: flex; flex-wrap: wrap; gap: 4px; }
.nbtrack-dashboard .nbt-tag {
  font-size: 11px; padding: 1px 8px; border-radius: 999px; background: #e0e7ff; color: #3730a3;
}
.nbtrack-dashboard .nbt-ov-grid {
  display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 10px; align-items: start;
}
.nbtrack-dashboard .nbt-ov-facts, .nbtrack-dashboard .nbt-ov-config {
  background: var(--nbt-card); border: 1px solid var(--nbt-border); border-radius: 8px;
  padding: 6px 10px; margin: 0; min-width: 0;
}
.nbtrack-dashboard .nbt-ov-facts { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 3px 14px; }
.nbtrack-dashboard .nbt-ov-facts dt { color: var(--nbt-muted); }
.nbtrack-dashboard .nbt-ov-facts dd {
  margin: 0; min-width: 0; overflow-wrap: anywhere; font-variant-numeric: tabular-nums;
}
.nbtrack-dashboard .nbt-ov-facts dd[data-fact="commit"] { font-family: var(--jp-code-font-family, monospace); }
.nbtrack-dashboard .nbt-ov-link { color: #2563eb; text-decoration: none; }
.nbtrack-dashboard .nbt-ov-link:hover { text-decoration: underline; }
.nbtrack-dashboard .nbt-ov-badge {
  margin-left: 6px; font-size: 11px; padding: 0 6px; border-radius: 999px;
  background: #fef3c7; color: #b45309; font-family: var(--jp-ui-font-family, system-ui, sans-serif);
}
.nbtrack-dashboard .nbt-ov-config-title { font-weight: 600; margin-bottom: 4px; }
.nbtrack-dashboard .nbt-ov-config { max-height: 320px; overflow: auto; }
.nbtrack-dashboard .nbt-ov-config table { border-collapse: collapse; width: 100%; table-layout: fixed; }
.nbtrack-dashboard .nbt-ov-config th, .nbtrack-dashboard .nbt-ov-config td {
  text-align: left; vertical-align: top; padding: 2px 6px 2px 0; border-top: 1px solid var(--nbt-border);
  overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
}
.nbtrack-dashboard .nbt-ov-config th { font-weight: 500; color: var(--nbt-muted); width: 40%; }
.nbtrack-dashboard .nbt-ov-config td { font-family: var(--jp-code-font-family, monospace); font-size: 12px; }
.nbtrack-dashboard .nbt-ov-empty { color: var(--nbt-muted); }
`;
