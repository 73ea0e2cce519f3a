// The dashboard view: header, the overview (overview.ts), controls (smoothing, x axis),
// collapsible sections of charts grouped by key prefix, the media section (images, tables,
// plots, video, audio, html: media/section.ts) and the histogram section below. Everything a person does here
// happens in the browser (the kernel may be busy); the chosen layout goes to the `layout`
// traitlet, which reaches Python once the kernel is free.
//
// The run's metric definitions (`define_metric`, in the header: metric-defs.ts) decide,
// while the person has not chosen an x axis, which key each chart is drawn against (its
// metric's step metric), and which metrics get no chart (hidden ones).
//
// Charts are built one at a time, those on screen first (top first), each one painted before
// the next is started: BokehJS takes ~100 ms to build a chart's views, and building twenty at
// once makes the first wait for the last. A chart far off screen (or in a collapsed section)
// is built when it comes near the viewport, and a built one that goes far away stops
// redrawing until it comes back. Every chart draws from the run state, so one built late
// still shows every point.

import type { AnyModel } from "@anywidget/types";

import type { BokehNS } from "./bokeh-loader";
import { loadBokeh, loadedBokeh } from "./bokeh-loader";
import { LineChart } from "./charts/line-chart";
import { chartControls, offerXAxes } from "./controls";
import { Header } from "./header";
import { HistogramSection } from "./histograms/section";
import { MediaSection } from "./media/section";
import type { MediaHost } from "./media/store";
import { mediaOf } from "./media/store";
import { MetricRules } from "./metric-defs";
import type { Layout, Model } from "./model";
import { OVERVIEW_SECTION, OverviewSection } from "./overview";
import type { RunEvent, RunState } from "./run-state";
import { Ema } from "./smoothing";
import { TIME_KEY } from "./series-store";
import { XColumn } from "./x-axis";

const OTHER = "";

interface Card {
  id: string;
  keys: string[];
  el: HTMLElement;
  title: HTMLElement;
  logButton: HTMLButtonElement;
  merge: HTMLSelectElement;
  split: HTMLButtonElement;
  host: HTMLElement;
  chart: LineChart | null;
  /** What the chart's x axis is (an XMode): see `chartXMode`. */
  mode: string;
  /** Near the viewport (IntersectionObserver, with a margin): built and drawn when it is;
   *  null until the observer has said (see `buildRank`). */
  near: boolean | null;
}

/** How far outside the viewport (and outside a scrolling container's visible part, e.g.
 *  JupyterLab's notebook) a chart counts as near: built and kept drawn. */
const NEAR_MARGIN_PX = 900;
const NEAR_MARGIN = `${NEAR_MARGIN_PX}px 0px`;

/** Which chart draws each metric: its own, unless the layout merged it into another. */
export function groupCharts(keys: string[], merged: Record<string, string>): Map<string, string[]> {
  const known = new Set(keys);
  const wants = (k: string): string | null => {
    const t = merged[k];
    return t && t !== k && known.has(t) ? t : null;
  };
  const groups = new Map<string, string[]>();
  for (const key of keys) {
    const target = wants(key);
    // One level only: a chart merged into one that is itself merged away stays its own.
    const into = target && !wants(target) ? target : key;
    let g = groups.get(into);
    if (!g) {
      g = [];
      groups.set(into, g);
    }
    g.push(key);
  }
  // The chart's own metric first (its colour, its data-points).
  for (const [id, ks] of groups) if (ks[0] !== id) ks.unshift(...ks.splice(ks.indexOf(id), 1));
  return groups;
}

/**
 * What the chart of metric `id` is drawn against: the x axis the person chose, if any;
 * else the step metric its definition names, once that metric has points (a chart against
 * a key with no points yet would be empty: it is drawn against the step until then); else
 * the step.
 *
 * Example: with `define_metric("val/*", step_metric="epoch")` and "epoch" logged,
 * `chartXMode(undefined, "val/loss", rules, has)` is "epoch"; `chartXMode("step", ...)` "step".
 */
export function chartXMode(
  chosen: string | undefined,
  id: string,
  rules: MetricRules,
  has: (key: string) => boolean,
): string {
  if (chosen) return chosen;
  const step = rules.stepMetric(id);
  return step !== null && has(step) ? step : "step";
}

/** The section a chart goes in: its key's prefix (`train/`, `val/`), else the rest. */
export function sectionOf(key: string): string {
  const i = key.indexOf("/");
  return i > 0 ? key.slice(0, i) : OTHER;
}

export class Dashboard {
  private readonly header = new Header();
  private readonly overview: OverviewSection;
  private readonly controls: HTMLElement;
  /** The host's actions on the run (Share, Export): see `addAction`. */
  private readonly actions: HTMLElement;
  private readonly smoothing: HTMLInputElement;
  private readonly smoothingValue: HTMLElement;
  private readonly xAxis: HTMLSelectElement;
  private readonly body: HTMLElement;
  private readonly notice: HTMLElement;
  private readonly histograms: HistogramSection;
  private readonly media: MediaSection;
  private readonly sections = new Map<string, { el: HTMLDetailsElement; grid: HTMLElement; count: HTMLElement }>();
  private readonly cards = new Map<string, Card>();
  private readonly xColumns = new Map<string, XColumn>();
  /** Every key that has had points: a new one may change the cards (see `onEvent`). */
  private readonly known = new Set<string>();
  private readonly emas = new Map<string, Ema>();
  private layout: Layout;
  private rules = new MetricRules();
  private Bokeh: BokehNS = null;
  private readonly unlisten: () => void;
  private noticeTimer = 0;
  private destroyed = false;
  /** Cards whose chart is to be built (again), in no order: see `nextToBuild`. */
  private readonly unbuilt = new Set<Card>();
  private building: LineChart | null = null; // built last, not painted yet
  private buildQueued = false;
  private readonly nearness: IntersectionObserver | null;
  private readonly cardOfEl = new WeakMap<Element, Card>();

  constructor(
    private readonly root: HTMLElement,
    private readonly model: AnyModel<Model>,
    private readonly state: RunState,
    /** BokehJS as the host has it coming (the server's page); else from the run state. */
    private readonly bokeh?: Promise<BokehNS>,
    /** How the media section gets files it was not sent (media/store.ts); an export's
     *  (no full files) when not given. */
    mediaHost?: MediaHost,
  ) {
    root.classList.add("nbtrack-dashboard");
    root.dataset.runId = model.get("run_id");
    this.layout = { ...(model.get("chart_layout") ?? {}) };

    const controls = chartControls(this.layout.smoothing ?? 0);
    this.controls = controls.el;
    this.smoothing = controls.smoothing;
    this.smoothingValue = controls.smoothingValue;
    this.xAxis = controls.xAxis;
    this.actions = div("nbt-actions");
    this.actions.hidden = true;

    this.notice = div("nbt-notice", "Loading the charts…");
    this.body = div("nbt-body");
    const histEl = div("nbt-histograms");
    const mediaEl = div("nbt-media");
    this.overview = new OverviewSection({
      open: !(this.layout.collapsed ?? []).includes(OVERVIEW_SECTION),
      onToggle: (open) => {
        const set = new Set(this.layout.collapsed ?? []);
        if (open) set.delete(OVERVIEW_SECTION);
        else set.add(OVERVIEW_SECTION);
        this.layout.collapsed = [...set];
        this.save();
      },
    });
    // The overview above the charts' controls: what the run is, then what it logged.
    root.replaceChildren(
      this.header.el,
      this.actions,
      this.overview.el,
      this.controls,
      this.notice,
      this.body,
      mediaEl,
      histEl,
    );
    const media = mediaOf(state);
    if (mediaHost) media.host = mediaHost;
    this.media = new MediaSection(mediaEl, media);
    this.histograms = new HistogramSection(histEl);
    this.nearness =
      typeof IntersectionObserver === "function"
        ? new IntersectionObserver((entries) => this.onNearness(entries), {
            rootMargin: NEAR_MARGIN,
            // The same margin around every scrolling ancestor (where the browser has it).
            scrollMargin: NEAR_MARGIN,
          })
        : null;

    this.smoothing.addEventListener("input", () => this.setSmoothing(Number(this.smoothing.value)));
    this.smoothing.addEventListener("change", () => this.save());
    this.xAxis.addEventListener("change", () => {
      // "": as the metric definitions say (the choice offered when they name step metrics).
      if (this.xAxis.value) this.layout.x_axis = this.xAxis.value;
      else delete this.layout.x_axis;
      this.xColumns.clear();
      this.syncCards();
      this.save();
    });

    this.unlisten = state.listen((e) => this.onEvent(e));
    if (state.header) this.rules = new MetricRules(state.header.metrics);
    if (state.header) this.header.update(state.header, root);
    if (state.overview) this.overview.update(state.overview);
    if (state.header) this.overview.updateHeader(state.header);
    this.histograms.push(state.histograms);
    for (const k of state.store.keys) this.known.add(k);
    this.refreshXOptions();
    this.syncCards();
    this.startBokeh();
  }

  /** A control of the host's (Share, Export) in the bar under the header. */
  addAction(el: HTMLElement): void {
    this.actions.append(el);
    this.actions.hidden = false;
  }

  private startBokeh(): void {
    const have = loadedBokeh();
    if (have) {
      this.onBokeh(have);
    } else if (this.bokeh) {
      this.bokeh.then(
        (b) => this.onBokeh(b),
        (err: unknown) => this.setNotice(`Could not load BokehJS: ${String(err)}`),
      );
    } else if (this.state.bokehFiles) {
      loadBokeh(this.state.bokehFiles).then(
        (b) => this.onBokeh(b),
        (err: unknown) => this.setNotice(`Could not load BokehJS: ${String(err)}`),
      );
    } else {
      // Saved output reopened without the kernel that drew it: nothing will come.
      this.noticeTimer = window.setTimeout(() => {
        if (!this.Bokeh && !this.state.bokehFiles) {
          this.setNotice(
            "This dashboard's data lives in the kernel that drew it. " +
              `Run the cell again, or nbtrack.show("${this.state.header?.project ?? "project"}/${this.model.get("run_id")}").`,
          );
        }
      }, 4000);
    }
  }

  private onBokeh(b: BokehNS): void {
    if (this.Bokeh) return;
    this.Bokeh = b;
    this.media.setBokeh(b);
    this.setNotice("");
    for (const card of this.cards.values()) this.buildChart(card);
  }

  private onNearness(entries: IntersectionObserverEntry[]): void {
    let wanted = false;
    for (const e of entries) {
      const card = this.cardOfEl.get(e.target);
      if (!card) continue;
      card.near = e.isIntersecting;
      card.chart?.setVisible(card.near);
      if (card.near && this.unbuilt.has(card)) wanted = true;
    }
    if (wanted) this.scheduleBuild();
  }

  /**
   * Build the next chart once the work at hand is done (a microtask: before the browser lays
   * out and paints, so the first chart needs no frame of its own to start), unless one is
   * being built: that one asks again once it is painted.
   */
  private scheduleBuild(): void {
    if (this.buildQueued || this.building || this.destroyed || !this.Bokeh) return;
    this.buildQueued = true;
    queueMicrotask(() => {
      this.buildQueued = false;
      this.buildNext();
    });
  }

  private buildNext(): void {
    if (this.destroyed || !this.Bokeh) return;
    const card = this.nextToBuild();
    if (!card) return;
    this.unbuilt.delete(card);
    const chart = this.makeChart(card);
    this.building = chart;
    // The next chart once this one is painted; one whose view is slow to come (a busy
    // machine) holds the others up a second at most.
    const next = (): void => {
      if (this.building !== chart) return;
      this.building = null;
      this.scheduleBuild();
    };
    void chart.settled.then(next);
    window.setTimeout(next, 1000);
  }

  /** The chart to build first: on screen before near, then from the top (and the left). */
  private nextToBuild(): Card | null {
    let best: Card | null = null;
    let bestRank: number[] | null = null;
    const h = viewportHeight();
    for (const card of this.unbuilt) {
      if (!card.el.isConnected) continue;
      const rank = buildRank(card.el.getBoundingClientRect(), card.near, h);
      if (rank && (!bestRank || lessThan(rank, bestRank))) {
        best = card;
        bestRank = rank;
      }
    }
    return best;
  }

  private setNotice(text: string): void {
    this.notice.textContent = text;
  }

  private onEvent(e: RunEvent): void {
    switch (e.kind) {
      case "header":
        if (this.state.header) {
          this.header.update(this.state.header, this.root);
          this.overview.updateHeader(this.state.header);
          // A define_metric call after the dashboard was up: charts come, go or change x.
          const rules = new MetricRules(this.state.header.metrics);
          if (rules.signature !== this.rules.signature) {
            this.rules = rules;
            this.refreshXOptions();
            this.syncCards();
          }
        }
        break;
      case "overview":
        if (this.state.overview) this.overview.update(this.state.overview);
        break;
      case "bokeh":
        this.startBokeh();
        break;
      case "histograms":
        this.histograms.push(e.entries);
        break;
      case "points": {
        // A key new to the dashboard: a chart of its own, or a step metric's first points.
        if (e.keys.some((k) => !this.known.has(k))) {
          for (const k of e.keys) this.known.add(k);
          this.refreshXOptions();
          this.syncCards();
        }
        const redraw = new Set<Card>();
        for (const key of e.keys) {
          const card = this.cardOf(key);
          if (!card) continue;
          redraw.add(card);
          if (card.id === key) card.el.dataset.points = String(this.state.store.series.get(key)?.length ?? 0);
        }
        // A new time or x-metric point moves x for every chart drawn against it.
        const keys = new Set(e.keys);
        for (const card of this.cards.values()) {
          const src = card.mode === "relative" || card.mode === "wall" ? TIME_KEY : card.mode;
          if (keys.has(src)) redraw.add(card);
        }
        for (const card of redraw) card.chart?.schedule();
        break;
      }
    }
  }

  private cardOf(key: string): Card | undefined {
    for (const c of this.cards.values()) if (c.keys.includes(key)) return c;
    return undefined;
  }

  /** The x axis the person chose; undefined: each chart's own (see `chartXMode`). */
  private chosenX(): string | undefined {
    return this.layout.x_axis || undefined;
  }

  private modeOf(id: string): string {
    return chartXMode(this.chosenX(), id, this.rules, (k) => this.state.store.series.has(k));
  }

  private refreshXOptions(): void {
    const auto = this.rules.hasStepMetrics() ? "as defined (define_metric)" : undefined;
    offerXAxes(this.xAxis, this.state.store.metricKeys(), this.chosenX() ?? (auto ? "" : "step"), auto);
  }

  /** Make the cards match the keys, the metric definitions and the layout's merges; rebuild
   *  those that changed (their lines, or their x axis). */
  private syncCards(): void {
    const all = this.state.store.metricKeys();
    const keys = all.filter((k) => !this.rules.hidden(k));
    const groups = groupCharts(keys, this.layout.merged ?? {});
    for (const [id, card] of this.cards) {
      const g = groups.get(id);
      if (!g) {
        this.dropChart(card);
        this.unbuilt.delete(card);
        this.nearness?.unobserve(card.el);
        card.el.remove();
        this.cards.delete(id);
      } else if (g.join("\n") !== card.keys.join("\n") || this.modeOf(id) !== card.mode) {
        card.keys = g;
        card.mode = this.modeOf(id);
        this.decorate(card);
        this.buildChart(card);
      }
    }
    for (const [id, g] of groups) {
      if (this.cards.has(id)) continue;
      const card = this.makeCard(id, g);
      this.cards.set(id, card);
      this.sectionFor(sectionOf(id)).grid.append(card.el);
      this.nearness?.observe(card.el);
      this.buildChart(card);
    }
    for (const card of this.cards.values()) this.decorate(card);
    for (const [name, s] of this.sections) {
      const n = s.grid.children.length;
      s.count.textContent = String(n);
      s.el.hidden = n === 0;
      void name;
    }
    if (all.length && this.Bokeh) this.setNotice("");
    else if (!all.length && this.Bokeh) this.setNotice("Waiting for the first log()…");
  }

  private sectionFor(name: string): { el: HTMLDetailsElement; grid: HTMLElement; count: HTMLElement } {
    let s = this.sections.get(name);
    if (s) return s;
    const el = document.createElement("details");
    el.className = "nbt-section";
    el.dataset.section = name;
    el.open = !(this.layout.collapsed ?? []).includes(name);
    const summary = document.createElement("summary");
    const count = span("nbt-section-count", "");
    summary.append(name === OTHER ? "charts" : name, count);
    const grid = div("nbt-grid");
    el.append(summary, grid);
    el.addEventListener("toggle", () => {
      const set = new Set(this.layout.collapsed ?? []);
      // Also fired for the `open` set just above: nothing changed then, nothing to save.
      if (el.open === !set.has(name)) return;
      if (el.open) set.delete(name);
      else set.add(name);
      this.layout.collapsed = [...set];
      this.save();
      if (el.open) for (const c of this.cards.values()) c.chart?.schedule();
    });
    s = { el, grid, count };
    this.sections.set(name, s);
    // Prefixed sections in order of arrival; the unprefixed rest last.
    const other = this.sections.get(OTHER);
    if (name !== OTHER && other) this.body.insertBefore(el, other.el);
    else this.body.append(el);
    return s;
  }

  private makeCard(id: string, keys: string[]): Card {
    const el = div("nbtrack-chart");
    el.dataset.metric = id;
    el.dataset.points = String(this.state.store.series.get(id)?.length ?? 0);
    const bar = div("nbt-chart-bar");
    const title = div("nbt-chart-title");
    const logButton = document.createElement("button");
    logButton.className = "nbt-log";
    logButton.textContent = "log y";
    logButton.title = "logarithmic y axis";
    const merge = document.createElement("select");
    merge.className = "nbt-merge";
    merge.title = "draw this chart's lines in another chart";
    const split = document.createElement("button");
    split.className = "nbt-split";
    split.textContent = "split";
    split.title = "give each merged metric its own chart again";
    bar.append(title, logButton, merge, split);
    const host = div("nbt-chart-host");
    el.append(bar, host);
    const near = this.nearness ? null : true; // without an observer, every chart is near
    const mode = this.modeOf(id);
    const card: Card = { id, keys, el, title, logButton, merge, split, host, chart: null, mode, near };
    this.cardOfEl.set(el, card);
    (el as HTMLElement & { __nbtrack_card__?: Card }).__nbtrack_card__ = card;
    logButton.addEventListener("click", () => {
      const set = new Set(this.layout.log_y ?? []);
      if (set.has(card.id)) set.delete(card.id);
      else set.add(card.id);
      this.layout.log_y = [...set];
      this.decorate(card);
      this.buildChart(card);
      this.save();
    });
    merge.addEventListener("change", () => {
      const target = merge.value;
      if (!target) return;
      const merged = { ...(this.layout.merged ?? {}) };
      for (const k of card.keys) merged[k] = target;
      this.layout.merged = merged;
      this.syncCards();
      this.save();
    });
    split.addEventListener("click", () => {
      const merged = { ...(this.layout.merged ?? {}) };
      for (const k of card.keys) delete merged[k];
      this.layout.merged = merged;
      this.syncCards();
      this.save();
    });
    return card;
  }

  private decorate(card: Card): void {
    card.title.textContent = card.keys.join("  +  ");
    card.title.title = card.keys.join(", ");
    card.logButton.setAttribute("aria-pressed", String((this.layout.log_y ?? []).includes(card.id)));
    card.split.hidden = card.keys.length < 2;
    const others = [...this.cards.keys()].filter((id) => id !== card.id);
    const opts = [["", "merge into…"], ...others.map((id) => [id, id])];
    if (card.merge.options.length !== opts.length || [...card.merge.options].some((o, i) => o.value !== opts[i]?.[0])) {
      card.merge.replaceChildren(
        ...opts.map(([v, label]) => {
          const o = document.createElement("option");
          o.value = v as string;
          o.textContent = label as string;
          return o;
        }),
      );
    }
    card.merge.value = "";
    card.merge.hidden = others.length === 0;
  }

  /** Drop the card's chart and build it again, in its turn (see `nextToBuild`). */
  private buildChart(card: Card): void {
    if (!this.Bokeh) return;
    this.dropChart(card);
    this.unbuilt.add(card);
    this.scheduleBuild();
  }

  private dropChart(card: Card): void {
    const chart = card.chart;
    if (!chart) return;
    chart.destroy();
    card.chart = null;
    if (this.building === chart) {
      this.building = null;
      this.scheduleBuild();
    }
  }

  private makeChart(card: Card): LineChart {
    const hidden = new Set(this.layout.hidden ?? []);
    card.chart = new LineChart(
      this.Bokeh,
      card.host,
      {
        id: card.id,
        keys: card.keys,
        logY: (this.layout.log_y ?? []).includes(card.id),
        hidden,
        onHiddenChange: (key, isHidden) => {
          const set = new Set(this.layout.hidden ?? []);
          if (isHidden) set.add(key);
          else set.delete(key);
          this.layout.hidden = [...set];
          this.save();
        },
      },
      {
        store: this.state.store,
        xMode: card.mode,
        xColumn: (key) => this.xColumn(key, card.mode),
        ema: (key) => this.ema(key),
      },
      buildRank(card.el.getBoundingClientRect(), card.near, viewportHeight()) !== null,
    );
    return card.chart;
  }

  private xColumn(key: string, mode: string): XColumn {
    const id = `${mode}\n${key}`;
    let c = this.xColumns.get(id);
    const series = this.state.store.series.get(key);
    if (!c && series) {
      c = new XColumn(series, mode, this.state.store);
      this.xColumns.set(id, c);
    }
    return c as XColumn;
  }

  private ema(key: string): Ema | null {
    const w = this.layout.smoothing ?? 0;
    if (w <= 0) return null;
    let e = this.emas.get(key);
    if (!e || e.weight !== w) {
      e = new Ema(w);
      this.emas.set(key, e);
    }
    return e;
  }

  private setSmoothing(w: number): void {
    this.layout.smoothing = w;
    this.smoothingValue.textContent = w.toFixed(2);
    for (const card of this.cards.values()) card.chart?.schedule();
  }

  /** Put the layout in the widget state; it reaches the kernel when the kernel is free. */
  private save(): void {
    this.model.set("chart_layout", { ...this.layout });
    this.model.save_changes();
  }

  destroy(): void {
    this.destroyed = true;
    this.unlisten();
    window.clearTimeout(this.noticeTimer);
    this.nearness?.disconnect();
    this.unbuilt.clear();
    for (const card of this.cards.values()) card.chart?.destroy();
    this.histograms.destroy();
    this.media.destroy();
  }
}

/** What `buildRank` needs of a card's box (a DOMRect has it). */
export interface Box {
  top: number;
  bottom: number;
  left: number;
  width: number;
  height: number;
}

/**
 * Where a chart comes in the order its charts are built: on screen before near, then from
 * the top (and from the left in a row); null when it is not near the viewport, so not to be
 * built yet. `near` is what the IntersectionObserver said last; before its first word (it may
 * come a few frames late) the box decides: laid out, and within the margin of the window (a
 * scrolling container around it may clip it: the observer says so when it reports).
 *
 * Example: `buildRank({ top: 300, bottom: 530, left: 20, width: 400, height: 230 }, null, 900)`
 * is `[0, 300, 20]`: on screen, 300 px from the top.
 */
export function buildRank(r: Box, near: boolean | null, viewportHeight: number): number[] | null {
  if (near === false) return null;
  if (near === null) {
    if (r.width === 0 && r.height === 0) return null;
    if (r.bottom <= -NEAR_MARGIN_PX || r.top >= viewportHeight + NEAR_MARGIN_PX) return null;
  }
  if (r.bottom > 0 && r.top < viewportHeight) return [0, Math.max(0, r.top), r.left];
  return [1, r.top >= viewportHeight ? r.top - viewportHeight : -r.bottom, r.left];
}

function viewportHeight(): number {
  return window.innerHeight || document.documentElement.clientHeight;
}

function lessThan(a: number[], b: number[]): boolean {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    if (x !== y) return x < y;
  }
  return false;
}

function div(cls: string, text?: string): HTMLDivElement {
  const e = document.createElement("div");
  e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function span(cls: string, text: string): HTMLSpanElement {
  const e = document.createElement("span");
  e.className = cls;
  e.textContent = text;
  return e;
}
