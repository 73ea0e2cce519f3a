// The compare view: the runs table, the overlaid curves of every metric (in the dashboard's
// sections) and the parallel coordinates, for one project. It knows neither host: the
// notebook widget (widget.ts) and the standalone page (page.ts) hand it the project state,
// a way to ask for more (a zoomed range whole, a run's dashboard) and a place to keep what
// the person chose.

import type { AnyModel } from "@anywidget/types";

import type { BokehNS } from "../bokeh-loader";
import { loadBokeh, loadedBokeh } from "../bokeh-loader";
import type { OpenRequest, RangeRequest, RunRequest } from "../compare-protocol";
import { Dashboard, sectionOf } from "../dashboard";
import type { Layout, Model } from "../model";
import { RunState } from "../run-state";
import { chartControls, offerXAxes } from "../controls";
import { cellText, columnValue } from "./cells";
import type { OverlayLine } from "./overlay-chart";
import { OverlayChart } from "./overlay-chart";
import type { AxisSpec, PcLine, PcState } from "./parallel";
import { ParallelCoordinates } from "./parallel";
import type { ProjectEvent, ProjectState } from "./project-state";
import type { TableState } from "./table";
import { DEFAULT_TABLE, RunsTable } from "./table";
import type { CellValue, CompareRun } from "./types";
import { own } from "./types";

/** Everything a person chose in the view; saved like the run dashboard's layout. */
export interface CompareState {
  table?: Partial<TableState>;
  /** The filter `nbtrack.compare(filter=...)` started the view with. */
  filter?: string;
  smoothing?: number;
  x_axis?: string;
  log_y?: string[];
  collapsed?: string[];
  /** Config columns on the parallel coordinates ("config:lr"); null: those that vary. */
  pc_axes?: string[] | null;
  pc_metric?: string | null;
  pc_agg?: "last" | "min" | "max";
  pc?: Partial<PcState>;
}

export interface CompareHost {
  /** Send a request to whoever feeds the state (kernel or server). */
  request(req: RangeRequest | OpenRequest | RunRequest): void;
  /** The run's own page (server), or null (notebook: its dashboard opens under the table). */
  runHref(run: CompareRun): string | null;
  /** The host answers requests when its kernel is idle (the notebook). */
  answersWhenIdle: boolean;
  save(state: CompareState): void;
  /** BokehJS, when the host loads it itself (the page); else from the state's bokeh message. */
  bokeh?: Promise<BokehNS>;
}

interface Card {
  /** Near the viewport, as the IntersectionObserver last said (true before it says). */
  near: boolean;
  key: string;
  el: HTMLElement;
  host: HTMLElement;
  logButton: HTMLButtonElement;
  chart: OverlayChart | null;
}

const MAX_DEFAULT_AXES = 6;

export class CompareView {
  private readonly table: RunsTable;
  private readonly controls: HTMLElement;
  /** The host's actions on the project (Share): see `addAction`. */
  private readonly actions: HTMLElement;
  private readonly notice: HTMLElement;
  private readonly body: HTMLElement;
  private readonly pcEl: HTMLElement;
  private readonly pcControls: HTMLElement;
  private readonly openedEl: HTMLElement;
  private readonly smoothing: HTMLInputElement;
  private readonly smoothingValue: HTMLElement;
  private readonly xAxis: HTMLSelectElement;
  private readonly pcMetric: HTMLSelectElement;
  private readonly pcAgg: HTMLSelectElement;
  private readonly pcAxesMenu: HTMLElement;
  private readonly pc: ParallelCoordinates;
  private readonly cards = new Map<string, Card>();
  private readonly sections = new Map<string, { el: HTMLDetailsElement; grid: HTMLElement }>();
  private Bokeh: BokehNS = null;
  private building = false;
  private readonly unbuilt: Card[] = [];
  private state: CompareState;
  private readonly unlisten: () => void;
  private hovered: string | null = null;
  private requestId = 0;
  private readonly pending = new Map<number, number>(); // request id -> when sent
  private waitTimer = 0;
  private redrawTimer = 0;
  private opened: { run: string; dashboard: Dashboard; el: HTMLElement } | null = null;
  private destroyed = false;
  private brushing = false;
  private rowsMoved = false;
  private readonly nearness: IntersectionObserver | null;

  constructor(
    private readonly root: HTMLElement,
    private readonly project: ProjectState,
    private readonly host: CompareHost,
    saved: CompareState,
  ) {
    this.state = { ...saved };
    const tableState: TableState = { ...DEFAULT_TABLE, ...(saved.table ?? {}) };
    if (saved.filter && !saved.table) tableState.filter = saved.filter;
    this.state.table = tableState;
    root.classList.add("nbtrack-dashboard", "nbtrack-compare");
    root.replaceChildren();
    this.actions = div("nbt-actions");
    this.actions.hidden = true;
    root.append(this.actions);

    this.table = new RunsTable(root, tableState, {
      onChange: (s) => {
        this.state.table = s;
        this.save();
      },
      onRowsChange: () => this.rowsChanged(),
      onOpen: (run) => this.open(run),
      onHover: (id) => this.hover(id),
      runHref: (run) => host.runHref(run),
      color: (id) => project.colors.color(id),
      groupColor: (value) => project.groupColors.color(value),
    });
    this.openedEl = div("nbt-opened");
    this.openedEl.hidden = true;
    root.append(this.openedEl);

    const controls = chartControls(this.state.smoothing ?? 0);
    this.controls = controls.el;
    this.smoothing = controls.smoothing;
    this.smoothingValue = controls.smoothingValue;
    this.xAxis = controls.xAxis;
    this.notice = div("nbt-notice", "");
    this.body = div("nbt-body");

    const pcSection = document.createElement("details");
    pcSection.className = "nbt-section nbt-pc-section";
    pcSection.dataset.section = "parallel coordinates";
    pcSection.open = !(this.state.collapsed ?? []).includes("parallel coordinates");
    const pcSummary = document.createElement("summary");
    pcSummary.textContent = "parallel coordinates";
    this.pcControls = div("nbt-pc-controls");
    this.pcMetric = document.createElement("select");
    this.pcMetric.className = "nbt-pc-metric";
    this.pcMetric.title = "the metric axis";
    this.pcAgg = document.createElement("select");
    this.pcAgg.className = "nbt-pc-agg";
    for (const a of ["last", "min", "max"]) {
      const o = document.createElement("option");
      o.value = a;
      o.textContent = a;
      this.pcAgg.append(o);
    }
    this.pcAgg.value = this.state.pc_agg ?? "last";
    const axesMenu = document.createElement("details");
    axesMenu.className = "nbt-pc-axes";
    const axesSummary = document.createElement("summary");
    axesSummary.textContent = "axes";
    this.pcAxesMenu = div("nbt-columns-list");
    axesMenu.append(axesSummary, this.pcAxesMenu);
    this.pcControls.append(this.pcMetric, this.pcAgg, axesMenu);
    this.pcEl = div("nbt-pc-host");
    pcSection.append(pcSummary, this.pcControls, this.pcEl);
    pcSection.addEventListener("toggle", () => this.toggleSection("parallel coordinates", pcSection.open));

    root.append(this.controls, this.notice, pcSection, this.body);
    // While a brush is dragged the table keeps its height: rows it hides would otherwise
    // move the plot up under the pointer.
    this.pcEl.addEventListener(
      "pointerdown",
      () => {
        this.table.holdHeight(true);
        this.brushing = true;
      },
      true,
    );
    window.addEventListener("pointerup", this.releaseTable, true);
    this.pc = new ParallelCoordinates(this.pcEl, {
      onBrush: (ids) => this.table.setBrushed(ids),
      onHover: (id) => this.hover(id),
      onStateChange: (s) => {
        this.state.pc = s;
        this.save();
      },
    });
    if (this.state.pc) this.pc.setState(this.state.pc);

    this.smoothing.addEventListener("input", () => {
      this.state.smoothing = Number(this.smoothing.value);
      this.smoothingValue.textContent = this.state.smoothing.toFixed(2);
      this.redrawCharts();
    });
    this.smoothing.addEventListener("change", () => this.save());
    this.xAxis.addEventListener("change", () => {
      this.state.x_axis = this.xAxis.value;
      this.rebuildCharts();
      this.save();
    });
    this.pcMetric.addEventListener("change", () => {
      this.state.pc_metric = this.pcMetric.value || null;
      this.updatePc();
      this.save();
    });
    this.pcAgg.addEventListener("change", () => {
      this.state.pc_agg = this.pcAgg.value as "last" | "min" | "max";
      this.updatePc();
      this.save();
    });

    this.nearness =
      typeof IntersectionObserver === "function"
        ? new IntersectionObserver(
            (entries) => {
              for (const e of entries) {
                const card = [...this.cards.values()].find((c) => c.el === e.target);
                card?.chart?.setVisible(e.isIntersecting);
                if (card) card.near = e.isIntersecting;
                if (card && e.isIntersecting && this.unbuilt.includes(card)) this.buildNext();
              }
            },
            { rootMargin: "600px 0px", scrollMargin: "600px 0px" },
          )
        : null;
    this.unlisten = project.listen((e) => this.onEvent(e));
    this.onRuns();
    this.syncCards();
    this.startBokeh();
  }

  // -- data ---------------------------------------------------------------------------------

  private onEvent(e: ProjectEvent): void {
    switch (e.kind) {
      case "runs":
        this.onRuns();
        break;
      case "curves":
        if (e.request !== null) this.answered(e.request);
        if ([...e.keys].some((k) => k !== "_time" && !this.cards.has(k))) this.syncCards();
        this.refreshXOptions();
        for (const k of e.keys) this.cards.get(k)?.chart?.schedule();
        if (e.keys.has(this.xAxis.value) || e.keys.has("_time")) this.redrawCharts(false);
        if (this.state.pc_agg !== "last") this.updatePc();
        break;
      case "bokeh":
        this.startBokeh();
        break;
      case "run":
        break;
    }
  }

  private runList(): CompareRun[] {
    return [...this.project.runs.values()];
  }

  private onRuns(): void {
    this.table.setRuns(this.runList());
    this.updatePc();
    this.redrawCharts(false);
  }

  // -- the table's rows drive the charts and the parallel coordinates ------------------------

  private rowsChanged(): void {
    // A brush drag changes the rows every frame: the table follows it, the charts (hundreds
    // of lines each) once the drag ends.
    if (this.brushing) {
      this.rowsMoved = true;
      return;
    }
    if (this.redrawTimer) return;
    this.redrawTimer = window.setTimeout(() => {
      this.redrawTimer = 0;
      this.redrawCharts();
    }, 100);
  }

  private lines(): OverlayLine[] {
    const runs = this.table.drawn();
    const group = this.table.groupColumn();
    if (!group) return runs.map((r) => ({ id: r.id, label: r.name, color: this.project.colors.color(r.id), runs: [r.id] }));
    const groups = new Map<string, string[]>();
    for (const r of runs) {
      const g = cellText(columnValue(r, group)) || "(missing)";
      let ids = groups.get(g);
      if (!ids) groups.set(g, (ids = []));
      ids.push(r.id);
    }
    return [...groups].map(([g, ids]) => ({
      id: `group:${g}`,
      label: `${group} = ${g} (${ids.length})`,
      color: this.project.groupColors.color(g),
      runs: ids,
    }));
  }

  private readonly releaseTable = (): void => {
    if (!this.brushing) return;
    this.brushing = false;
    this.table.holdHeight(false);
    if (this.rowsMoved) {
      this.rowsMoved = false;
      this.redrawCharts();
    }
  };

  private hover(id: string | null): void {
    if (id === this.hovered) return;
    this.hovered = id;
    this.table.highlight(id);
    this.pc.highlight(id);
    for (const c of this.cards.values()) c.chart?.highlight(id);
  }

  // -- parallel coordinates -----------------------------------------------------------------

  private updatePc(): void {
    const runs = this.runList();
    const configKeys = [...new Set(runs.flatMap((r) => Object.keys(r.config)))];
    const summaryKeys = [...new Set(runs.flatMap((r) => Object.keys(r.summary)))].filter(
      (k) => !k.startsWith("_") && runs.some((r) => typeof r.summary[k] === "number"),
    );
    const metricKeys = [...new Set([...summaryKeys, ...this.project.keys])];
    const metric = this.state.pc_metric && metricKeys.includes(this.state.pc_metric) ? this.state.pc_metric : (metricKeys[0] ?? null);
    setOptions(this.pcMetric, metricKeys.map((k) => [k, `summary:${k}`]), metric ?? "");
    const varying = configKeys.filter((k) => new Set(runs.map((r) => JSON.stringify(r.config[k] ?? null))).size > 1);
    const chosen = this.state.pc_axes ?? varying.slice(0, MAX_DEFAULT_AXES).map((k) => `config:${k}`);
    this.renderAxesMenu(configKeys, chosen);
    const agg = this.state.pc_agg ?? "last";
    const axes: AxisSpec[] = chosen
      .filter((c) => configKeys.includes(c.slice(7)))
      .map((c) => ({ id: c, label: c }));
    const metricAxis = metric ? `summary:${metric}${agg === "last" ? "" : `:${agg}`}` : null;
    if (metricAxis) axes.push({ id: metricAxis, label: agg === "last" ? metricAxis : `${agg}(${metric})` });
    const lines: PcLine[] = runs.map((r) => {
      const values = new Map<string, CellValue | undefined>();
      for (const a of axes) {
        if (a.id === metricAxis && metric) values.set(a.id, this.metricValue(r, metric, agg));
        else values.set(a.id, own(r.config, a.id.slice(7)));
      }
      return { id: r.id, color: this.project.colors.color(r.id), values };
    });
    const shown = new Set(this.table.filtered());
    this.pc.setData(lines.filter((l) => shown.has(l.id)), axes, metricAxis);
  }

  private metricValue(r: CompareRun, key: string, agg: "last" | "min" | "max"): number | undefined {
    if (agg === "last") {
      const v = own(r.summary, key);
      if (typeof v === "number") return v;
    }
    const c = this.project.curve(r.id, key);
    if (!c || !c.draw.length) return undefined;
    if (agg === "last") return c.line.y[c.line.length - 1];
    let best = agg === "min" ? Infinity : -Infinity;
    for (let i = 0; i < c.draw.length; i++) {
      const v = c.draw.y[i] as number;
      if (!Number.isFinite(v)) continue;
      best = agg === "min" ? Math.min(best, v) : Math.max(best, v);
    }
    return Number.isFinite(best) ? best : undefined;
  }

  private renderAxesMenu(keys: string[], chosen: string[]): void {
    const set = new Set(chosen);
    this.pcAxesMenu.replaceChildren(
      ...keys.map((k) => {
        const label = document.createElement("label");
        const box = document.createElement("input");
        box.type = "checkbox";
        box.dataset.axisChoice = `config:${k}`;
        box.checked = set.has(`config:${k}`);
        box.addEventListener("change", () => {
          const now = new Set(this.state.pc_axes ?? chosen);
          if (box.checked) now.add(`config:${k}`);
          else now.delete(`config:${k}`);
          this.state.pc_axes = [...now];
          this.updatePc();
          this.save();
        });
        label.append(box, document.createTextNode(` config:${k}`));
        return label;
      }),
    );
  }

  // -- charts -------------------------------------------------------------------------------

  private startBokeh(): void {
    if (this.Bokeh) return;
    const have = loadedBokeh();
    const coming = have
      ? Promise.resolve(have)
      : (this.host.bokeh ?? (this.project.bokehFiles ? loadBokeh(this.project.bokehFiles) : null));
    if (!coming) {
      this.setNotice("Loading the charts…");
      return;
    }
    coming.then(
      (b) => {
        this.Bokeh = b;
        this.setNotice("");
        for (const c of this.cards.values()) this.queueBuild(c);
      },
      (err: unknown) => this.setNotice(`Could not load BokehJS: ${String(err)}`),
    );
  }

  private refreshXOptions(): void {
    offerXAxes(this.xAxis, this.project.keys, this.state.x_axis ?? "step");
  }

  private syncCards(): void {
    this.refreshXOptions();
    for (const key of this.project.keys) {
      if (this.cards.has(key)) continue;
      const el = div("nbtrack-chart");
      el.dataset.metric = key;
      el.dataset.lines = "0";
      const bar = div("nbt-chart-bar");
      const title = div("nbt-chart-title", key);
      title.title = key;
      const logButton = document.createElement("button");
      logButton.className = "nbt-log";
      logButton.textContent = "log y";
      logButton.setAttribute("aria-pressed", String((this.state.log_y ?? []).includes(key)));
      bar.append(title, logButton);
      const host = div("nbt-chart-host");
      el.append(bar, host);
      const card: Card = { key, el, host, logButton, chart: null, near: true };
      logButton.addEventListener("click", () => {
        const set = new Set(this.state.log_y ?? []);
        if (set.has(key)) set.delete(key);
        else set.add(key);
        this.state.log_y = [...set];
        logButton.setAttribute("aria-pressed", String(set.has(key)));
        this.rebuild(card);
        this.save();
      });
      this.cards.set(key, card);
      this.sectionFor(sectionOf(key)).grid.append(el);
      this.nearness?.observe(el);
      this.queueBuild(card);
    }
  }

  private sectionFor(name: string): { el: HTMLDetailsElement; grid: HTMLElement } {
    let s = this.sections.get(name);
    if (s) return s;
    const el = document.createElement("details");
    el.className = "nbt-section";
    el.dataset.section = name;
    el.open = !(this.state.collapsed ?? []).includes(name);
    const summary = document.createElement("summary");
    summary.textContent = name || "charts";
    const grid = div("nbt-grid");
    el.append(summary, grid);
    el.addEventListener("toggle", () => this.toggleSection(name, el.open));
    s = { el, grid };
    this.sections.set(name, s);
    const other = this.sections.get("");
    if (name !== "" && other) this.body.insertBefore(el, other.el);
    else this.body.append(el);
    return s;
  }

  private toggleSection(name: string, open: boolean): void {
    const set = new Set(this.state.collapsed ?? []);
    if (open === !set.has(name)) return;
    if (open) set.delete(name);
    else set.add(name);
    this.state.collapsed = [...set];
    this.save();
  }

  private queueBuild(card: Card): void {
    if (!this.Bokeh) return;
    if (!this.unbuilt.includes(card)) this.unbuilt.push(card);
    this.buildNext();
  }

  /** Charts are built one at a time, each painted before the next starts (see dashboard.ts). */
  /** The next chart to build: the first near the viewport (far ones wait until they come
   *  near, as in the run dashboard). */
  private buildNext(): void {
    if (this.building || this.destroyed || !this.Bokeh) return;
    const i = this.unbuilt.findIndex((c) => c.near);
    if (i < 0) return;
    const card = this.unbuilt.splice(i, 1)[0] as Card;
    this.building = true;
    card.chart?.destroy();
    card.chart = new OverlayChart(this.Bokeh, card.host, card.key, (this.state.log_y ?? []).includes(card.key), {
      lines: () => this.lines(),
      curve: (run, key) => this.project.curve(run, key),
      t0: (run) => this.project.runs.get(run)?.created_at ?? 0,
      smoothing: () => this.state.smoothing ?? 0,
      xMode: this.state.x_axis ?? "step",
      wantRange: (key, runs, start, end, columns) => this.askRange(key, runs, start, end, columns),
      onHover: (id) => this.hover(id),
    });
    if (this.hovered) card.chart.highlight(this.hovered);
    card.chart.setVisible(card.near);
    const next = (): void => {
      if (!this.building) return;
      this.building = false;
      this.buildNext();
    };
    void card.chart.settled.then(next);
    window.setTimeout(next, 1000);
  }

  private rebuild(card: Card): void {
    card.chart?.destroy();
    card.chart = null;
    this.queueBuild(card);
  }

  private rebuildCharts(): void {
    for (const c of this.cards.values()) this.rebuild(c);
  }

  /** Draw every chart again: on the next frame (`soon`: a person's choice), or when data
   *  redraws are due. Charts far off screen catch up when they come near. */
  private redrawCharts(soon = true): void {
    for (const c of this.cards.values()) c.chart?.schedule(soon);
  }

  // -- asking the host ----------------------------------------------------------------------

  private askRange(key: string, runs: string[], start: number, end: number, columns: number): void {
    const id = ++this.requestId;
    this.pending.set(id, performance.now());
    this.host.request({ type: "range", id, runs, keys: [key], start, end, width: columns });
    if (this.host.answersWhenIdle) {
      window.clearTimeout(this.waitTimer);
      this.waitTimer = window.setTimeout(() => {
        if (this.pending.size)
          this.setNotice(
            "Waiting for the kernel (busy running a cell?) to send the zoomed range at full resolution; the charts show the envelope until then.",
          );
      }, 400);
    }
  }

  private answered(id: number): void {
    this.pending.delete(id);
    if (!this.pending.size) {
      window.clearTimeout(this.waitTimer);
      if (this.notice.textContent?.startsWith("Waiting for the kernel")) this.setNotice("");
    }
  }

  private open(run: CompareRun): void {
    const href = this.host.runHref(run);
    if (href) {
      window.location.assign(href);
      return;
    }
    if (this.opened?.run === run.id) return;
    this.opened?.dashboard.destroy();
    const state = this.openedState(run.id);
    const el = div("nbt-opened-run");
    const bar = div("nbt-opened-bar");
    const title = div("nbt-opened-title", run.name);
    const close = document.createElement("button");
    close.className = "nbt-opened-close";
    close.textContent = "close";
    close.addEventListener("click", () => {
      this.opened?.dashboard.destroy();
      this.opened = null;
      this.openedEl.replaceChildren();
      this.openedEl.hidden = true;
    });
    bar.append(title, close);
    const dash = div("nbt-opened-dashboard");
    el.append(bar, dash);
    this.openedEl.replaceChildren(el);
    this.openedEl.hidden = false;
    this.openedEl.dataset.runId = run.id;
    const model = memoryModel(run.id);
    const bokeh = this.Bokeh ? Promise.resolve(this.Bokeh) : this.host.bokeh;
    // Full media files of the opened run come from the kernel, inside a `run` envelope.
    const dashboard = new Dashboard(dash, model, state, bokeh, {
      mediaUrl: () => null,
      send: (req) => this.host.request({ type: "run", run: run.id, message: req }),
    });
    this.opened = { run: run.id, dashboard, el };
    this.host.request({ type: "open", run: run.id });
    if (this.host.answersWhenIdle && !state.header) {
      const wait = div("nbt-notice", "Waiting for the kernel to send this run's dashboard…");
      dash.prepend(wait);
      const off = state.listen(() => {
        wait.remove();
        off();
      });
    }
  }

  private openedState(run: string): RunState {
    let s = this.project.opened.get(run);
    if (!s) {
      // Made here so the dashboard listens before the first message comes.
      s = new RunState();
      this.project.opened.set(run, s);
    }
    return s;
  }

  // -- state --------------------------------------------------------------------------------

  private setNotice(text: string): void {
    this.notice.textContent = text;
    this.notice.hidden = !text;
  }

  private save(): void {
    this.host.save({ ...this.state });
  }

  /** A control of the host's (Share) in the bar above the runs table. */
  addAction(el: HTMLElement): void {
    this.actions.append(el);
    this.actions.hidden = false;
  }

  destroy(): void {
    this.destroyed = true;
    this.unlisten();
    window.clearTimeout(this.waitTimer);
    window.clearTimeout(this.redrawTimer);
    window.removeEventListener("pointerup", this.releaseTable, true);
    this.nearness?.disconnect();
    for (const c of this.cards.values()) c.chart?.destroy();
    this.pc.destroy();
    this.opened?.dashboard.destroy();
    this.root.classList.remove("nbtrack-compare");
  }
}

/** A run dashboard's model kept in memory (its layout lasts as long as the view). */
function memoryModel(runId: string): AnyModel<Model> {
  const values: Model = { uid: `compare:${runId}`, run_id: runId, chart_layout: {} as Layout };
  const m = {
    get: <K extends keyof Model>(k: K): Model[K] => values[k],
    set: <K extends keyof Model>(k: K, v: Model[K]): void => {
      values[k] = v;
    },
    save_changes: (): void => undefined,
  };
  return m as unknown as AnyModel<Model>;
}

function setOptions(select: HTMLSelectElement, opts: [string, string][], value: string): void {
  select.replaceChildren(
    ...opts.map(([v, t]) => {
      const o = document.createElement("option");
      o.value = v;
      o.textContent = t;
      return o;
    }),
  );
  select.value = opts.some(([v]) => v === value) ? value : (opts[0]?.[0] ?? "");
}

function div(cls: string, text?: string): HTMLDivElement {
  const e = document.createElement("div");
  e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
