// The runs table: one row a run (its colour, name, state, W&B's group, job type and sweep
// when some run has them, created, runtime, tags, notes, commit, then config and summary
// columns as W&B names them), sortable by any column, searchable, filtered by an expression
// (filter.ts), selectable, groupable by group, job type, sweep or a config key.
// Everything in a cell is text (textContent): run names, tags, config keys and values are
// user data and may hold markup.
//
// Hooks for tests and users' tooling: rows carry `data-run-id` and `data-selected`, the
// table `data-visible-rows`.

import { allKeys, cellText, columnValue, fixedColumns, GROUPING_COLUMNS, sortRuns, varyingKeys } from "./cells";
import { compileFilter, FilterError } from "./filter";
import type { CompareRun } from "./types";
import { runFields } from "./types";

/** What a person chose in the table; saved with the view's state. */
export interface TableState {
  sort: { column: string; desc: boolean } | null;
  search: string;
  filter: string;
  /** Columns hidden by hand. */
  hidden: string[];
  /** Config columns shown by hand although every run has the same value. */
  shown: string[];
  /** Show every config key, varying or not. */
  allConfig: boolean;
  /** "all": every run (new ones too); else the ids checked. */
  selection: "all" | string[];
  /** A column to group rows by ("group", "job_type", "sweep", "config:optimizer"), or null. */
  group: string | null;
}

export const DEFAULT_TABLE: TableState = {
  sort: null,
  search: "",
  filter: "",
  hidden: [],
  shown: [],
  allConfig: false,
  selection: "all",
  group: null,
};

export interface TableHost {
  onChange(state: TableState): void;
  /** The rows shown or the selection changed (not the state alone). */
  onRowsChange(): void;
  onOpen(run: CompareRun): void;
  onHover(id: string | null): void;
  /** The run's own page, when the host has one (the server); null in a notebook. */
  runHref(run: CompareRun): string | null;
  /** A run's colour (the charts'), and a group's. */
  color(id: string): string;
  groupColor(value: string): string;
}

const HEADERS: Record<string, string> = {
  name: "Name", state: "State", created: "Created", runtime: "Runtime", tags: "Tags",
  notes: "Notes", commit: "Commit", group: "Group", job_type: "Job type", sweep: "Sweep",
}; // prettier-ignore

export class RunsTable {
  readonly el: HTMLElement;
  private readonly searchInput: HTMLInputElement;
  private readonly filterInput: HTMLInputElement;
  private readonly filterError: HTMLElement;
  private readonly groupSelect: HTMLSelectElement;
  private readonly columnsMenu: HTMLDetailsElement;
  private readonly columnsList: HTMLElement;
  private readonly table: HTMLTableElement;
  private readonly thead: HTMLTableSectionElement;
  private readonly tbody: HTMLTableSectionElement;
  private readonly count: HTMLElement;
  private runs: CompareRun[] = [];
  private columns: string[] = [];
  private test: (r: CompareRun) => boolean = () => true;
  private brushed: Set<string> | null = null;
  private readonly rowEls = new Map<string, HTMLTableRowElement>();
  private visibleIds: string[] = [];
  private highlighted: string | null = null;

  constructor(
    parent: HTMLElement,
    private state: TableState,
    private readonly host: TableHost,
  ) {
    this.el = el("div", "nbt-runs");
    const bar = el("div", "nbt-runs-bar");
    this.searchInput = input("nbt-search", "search runs", state.search);
    this.filterInput = input("nbt-filter", 'filter: config.lr < 0.01 and state == "finished"', state.filter);
    this.filterInput.spellcheck = false;
    this.filterError = el("div", "nbt-filter-error");
    this.filterError.setAttribute("role", "alert");
    this.groupSelect = document.createElement("select");
    this.groupSelect.className = "nbt-group";
    this.groupSelect.title = "group rows by group, job type, sweep or a config key";
    this.columnsMenu = document.createElement("details");
    this.columnsMenu.className = "nbt-columns";
    const summary = document.createElement("summary");
    summary.textContent = "columns";
    this.columnsList = el("div", "nbt-columns-list");
    this.columnsMenu.append(summary, this.columnsList);
    this.count = el("span", "nbt-runs-count");
    bar.append(this.searchInput, this.filterInput, this.groupSelect, this.columnsMenu, this.count);
    this.table = document.createElement("table");
    this.table.className = "nbt-runs-table";
    this.thead = this.table.createTHead();
    this.tbody = this.table.createTBody();
    const scroller = el("div", "nbt-runs-scroll");
    scroller.append(this.table);
    this.el.append(bar, this.filterError, scroller);
    parent.append(this.el);

    this.searchInput.addEventListener("input", () => {
      this.state.search = this.searchInput.value;
      this.applyVisibility();
      this.changed();
    });
    this.filterInput.addEventListener("input", () => {
      this.state.filter = this.filterInput.value;
      this.compile();
      this.applyVisibility();
      this.changed();
    });
    this.groupSelect.addEventListener("change", () => {
      this.state.group = this.groupSelect.value || null;
      this.render();
      this.changed();
    });
    this.tbody.addEventListener("pointerover", (e) => {
      const row = (e.target as Element).closest?.("tr[data-run-id]") as HTMLElement | null;
      this.host.onHover(row?.dataset.runId ?? null);
    });
    this.tbody.addEventListener("pointerleave", () => this.host.onHover(null));
    this.compile();
  }

  /** Keep the table's height as it is now (true), or let it follow its rows again. */
  holdHeight(hold: boolean): void {
    const box = this.table.parentElement;
    if (!box) return;
    box.style.minHeight = hold ? `${box.getBoundingClientRect().height}px` : "";
  }

  setState(state: TableState): void {
    this.state = state;
    this.searchInput.value = state.search;
    this.filterInput.value = state.filter;
    this.compile();
    this.render();
  }

  setRuns(runs: CompareRun[]): void {
    this.runs = runs;
    this.render();
  }

  /** The runs inside every parallel-coordinates brush; null: no brush. */
  setBrushed(ids: Set<string> | null): void {
    this.brushed = ids;
    this.applyVisibility();
  }

  highlight(id: string | null): void {
    if (id === this.highlighted) return;
    if (this.highlighted) this.rowEls.get(this.highlighted)?.classList.remove("nbt-hl");
    this.highlighted = id;
    if (id) this.rowEls.get(id)?.classList.add("nbt-hl");
  }

  /** Ids of the runs that pass search and filter (brushes aside), in arrival order. */
  filtered(): string[] {
    const brushed = this.brushed;
    this.brushed = null;
    const ids = this.runs.filter((r) => this.matches(r)).map((r) => r.id);
    this.brushed = brushed;
    return ids;
  }

  /** Ids of the rows shown (search, filter and brushes), in the table's order. */
  visible(): string[] {
    return this.visibleIds;
  }

  isSelected(id: string): boolean {
    const s = this.state.selection;
    return s === "all" || s.includes(id);
  }

  /** The runs the charts draw: shown and selected, in the table's order. */
  drawn(): CompareRun[] {
    const byId = new Map(this.runs.map((r) => [r.id, r]));
    return this.visibleIds.filter((id) => this.isSelected(id)).map((id) => byId.get(id) as CompareRun);
  }

  /** The config column rows are grouped by, or null. */
  groupColumn(): string | null {
    return this.state.group;
  }

  private changed(): void {
    this.host.onChange(this.state);
  }

  private compile(): void {
    this.filterError.textContent = "";
    this.filterInput.classList.remove("nbt-bad");
    try {
      const f = compileFilter(this.state.filter);
      this.test = (r) => f(runFields(r));
    } catch (e) {
      this.test = () => true; // a bad filter filters nothing out; the message says why
      const msg = e instanceof FilterError ? e.message : String(e);
      this.filterError.textContent = `Filter not applied: ${msg}`;
      this.filterInput.classList.add("nbt-bad");
    }
  }

  private matches(r: CompareRun): boolean {
    const q = this.state.search.trim().toLowerCase();
    if (q) {
      const hay = [r.name, r.id, r.notes, ...r.tags].join("\n").toLowerCase();
      if (!hay.includes(q)) return false;
    }
    if (this.brushed && !this.brushed.has(r.id)) return false;
    return this.test(r);
  }

  private configColumns(): string[] {
    const keys = allKeys(this.runs, (r) => r.config);
    const shown = new Set(this.state.shown.map((c) => c.slice(7)));
    const wanted = this.state.allConfig ? keys : new Set(varyingKeys(this.runs, keys));
    return keys
      .filter((k) => (wanted instanceof Set ? wanted.has(k) : true) || shown.has(k))
      .map((k) => `config:${k}`);
  }

  private summaryColumns(): string[] {
    return allKeys(this.runs, (r) => r.summary)
      .filter((k) => !k.startsWith("_"))
      .map((k) => `summary:${k}`);
  }

  /** Build the header, the column menu and every row (new runs, sort, columns, groups). */
  render(): void {
    const hidden = new Set(this.state.hidden);
    const config = this.configColumns();
    const summary = this.summaryColumns();
    const fixed = fixedColumns(this.runs);
    const all = [...fixed, ...config, ...summary];
    this.columns = all.filter((c) => !hidden.has(c));
    this.renderHead();
    this.renderColumnsMenu(fixed, allKeys(this.runs, (r) => r.config).map((k) => `config:${k}`), summary, hidden);
    this.renderGroupOptions();

    let runs = this.runs;
    const sort = this.state.sort;
    if (sort) runs = sortRuns(runs, sort.column, sort.desc);
    const group = this.state.group;
    this.tbody.replaceChildren();
    this.rowEls.clear();
    if (group) {
      const groups = new Map<string, CompareRun[]>();
      for (const r of runs) {
        const g = cellText(columnValue(r, group)) || "(missing)";
        let list = groups.get(g);
        if (!list) groups.set(g, (list = []));
        list.push(r);
      }
      for (const [g, members] of [...groups].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
        this.tbody.append(this.groupRow(group, g, members.length));
        for (const r of members) this.tbody.append(this.row(r, g));
      }
    } else {
      for (const r of runs) this.tbody.append(this.row(r, null));
    }
    this.applyVisibility();
  }

  private renderHead(): void {
    const tr = document.createElement("tr");
    const selectAll = document.createElement("input");
    selectAll.type = "checkbox";
    selectAll.className = "nbt-select-all";
    selectAll.title = "select every run shown";
    const th0 = document.createElement("th");
    th0.append(selectAll);
    tr.append(th0);
    selectAll.addEventListener("change", () => this.selectShown(selectAll.checked));
    for (const col of this.columns) {
      const th = document.createElement("th");
      th.dataset.column = col;
      th.textContent = HEADERS[col] ?? col;
      th.title = `sort by ${col}`;
      const sort = this.state.sort;
      if (sort?.column === col) th.dataset.sort = sort.desc ? "desc" : "asc";
      th.addEventListener("click", () => {
        const s = this.state.sort;
        // First click: text ascending, numbers descending (the best accuracy first); then flip.
        const desc = s?.column === col ? !s.desc : col.startsWith("summary:");
        this.state.sort = { column: col, desc };
        this.render();
        this.changed();
      });
      tr.append(th);
    }
    this.thead.replaceChildren(tr);
  }

  private renderColumnsMenu(fixed: string[], config: string[], summary: string[], hidden: Set<string>): void {
    const items: HTMLElement[] = [];
    const all = document.createElement("label");
    const allBox = document.createElement("input");
    allBox.type = "checkbox";
    allBox.checked = this.state.allConfig;
    allBox.className = "nbt-all-config";
    allBox.addEventListener("change", () => {
      this.state.allConfig = allBox.checked;
      this.render();
      this.changed();
    });
    all.append(allBox, " every config key (not only those that vary)");
    items.push(all);
    const shownConfig = new Set(this.configColumns());
    for (const col of [...fixed, ...config, ...summary]) {
      const label = document.createElement("label");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.dataset.column = col;
      const isConfig = col.startsWith("config:");
      box.checked = !hidden.has(col) && (!isConfig || shownConfig.has(col));
      box.addEventListener("change", () => {
        const h = new Set(this.state.hidden);
        const s = new Set(this.state.shown);
        if (box.checked) {
          h.delete(col);
          if (isConfig) s.add(col);
        } else {
          h.add(col);
          s.delete(col);
        }
        this.state.hidden = [...h];
        this.state.shown = [...s];
        this.render();
        this.changed();
      });
      label.append(box, document.createTextNode(` ${HEADERS[col] ?? col}`));
      items.push(label);
    }
    this.columnsList.replaceChildren(...items);
  }

  private renderGroupOptions(): void {
    const grouping = GROUPING_COLUMNS.filter((c) => this.runs.some((r) => r[c] !== null));
    const keys = [...grouping, ...allKeys(this.runs, (r) => r.config).map((k) => `config:${k}`)];
    const label = (k: string): string => `group by ${k.startsWith("config:") ? k : (HEADERS[k] ?? k).toLowerCase()}`;
    const opts: [string, string][] = [["", "no groups"], ...keys.map((k): [string, string] => [k, label(k)])];
    this.groupSelect.replaceChildren(
      ...opts.map(([v, t]) => {
        const o = document.createElement("option");
        o.value = v;
        o.textContent = t;
        return o;
      }),
    );
    this.groupSelect.value = this.state.group && keys.includes(this.state.group) ? this.state.group : "";
  }

  private groupRow(col: string, value: string, n: number): HTMLTableRowElement {
    const tr = document.createElement("tr");
    tr.className = "nbt-group-row";
    tr.dataset.group = value;
    const td = document.createElement("td");
    td.colSpan = this.columns.length + 1;
    const sw = el("span", "nbt-swatch");
    sw.style.background = this.host.groupColor(value);
    td.append(sw, document.createTextNode(`${HEADERS[col] ?? col} = ${value} (${n})`));
    tr.append(td);
    return tr;
  }

  private row(r: CompareRun, group: string | null): HTMLTableRowElement {
    const tr = document.createElement("tr");
    tr.dataset.runId = r.id;
    tr.dataset.state = r.state;
    if (group !== null) tr.dataset.group = group;
    const selected = this.isSelected(r.id);
    tr.dataset.selected = String(selected);
    const td0 = document.createElement("td");
    td0.className = "nbt-pick";
    const box = document.createElement("input");
    box.type = "checkbox";
    box.checked = selected;
    box.title = "draw this run in the charts";
    box.addEventListener("change", () => this.select(r.id, box.checked));
    const sw = el("span", "nbt-swatch");
    sw.style.background = this.host.color(r.id);
    td0.append(box, sw);
    tr.append(td0);
    for (const col of this.columns) tr.append(this.cell(r, col));
    if (r.id === this.highlighted) tr.classList.add("nbt-hl");
    this.rowEls.set(r.id, tr);
    return tr;
  }

  private cell(r: CompareRun, col: string): HTMLTableCellElement {
    const td = document.createElement("td");
    td.dataset.column = col;
    const v = columnValue(r, col);
    if (col === "name") {
      const href = this.host.runHref(r);
      const a = document.createElement("a");
      a.className = "nbt-run-name";
      a.textContent = r.name;
      a.title = `${r.name} (${r.id})`;
      a.href = href ?? "#";
      a.addEventListener("click", (e) => {
        if (href && (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0)) return;
        e.preventDefault();
        this.host.onOpen(r);
      });
      td.append(a);
      return td;
    }
    if (col === "state") {
      const s = el("span", "nbt-state", r.state);
      s.dataset.state = r.state;
      td.append(s);
      return td;
    }
    if (col === "commit" && r.git.commit) {
      const text = `${r.git.commit.slice(0, 8)}${r.git.dirty ? "*" : ""}`;
      const title = `${r.git.commit}${r.git.branch ? ` on ${r.git.branch}` : ""}${r.git.dirty ? " (uncommitted changes)" : ""}`;
      if (r.git.url) {
        const a = document.createElement("a");
        a.href = r.git.url;
        a.target = "_blank";
        a.rel = "noopener noreferrer";
        a.textContent = text;
        a.title = title;
        td.append(a);
      } else {
        td.textContent = text;
        td.title = title;
      }
      return td;
    }
    td.textContent = cellText(v, col);
    if (typeof v === "number") td.classList.add("nbt-num");
    if (col === "notes" || col === "tags") td.title = td.textContent;
    return td;
  }

  private select(id: string, on: boolean): void {
    const current = this.state.selection === "all" ? this.runs.map((r) => r.id) : this.state.selection;
    const set = new Set(current);
    if (on) set.add(id);
    else set.delete(id);
    this.state.selection = set.size === this.runs.length && on ? "all" : [...set];
    const row = this.rowEls.get(id);
    if (row) row.dataset.selected = String(on);
    this.changed();
    this.host.onRowsChange();
  }

  /** The header's checkbox: select every run shown, or unselect them. */
  private selectShown(on: boolean): void {
    const shown = new Set(this.visibleIds);
    const current = new Set(this.state.selection === "all" ? this.runs.map((r) => r.id) : this.state.selection);
    for (const id of shown) {
      if (on) current.add(id);
      else current.delete(id);
    }
    this.state.selection = current.size === this.runs.length ? "all" : [...current];
    for (const [id, row] of this.rowEls) {
      const sel = this.isSelected(id);
      row.dataset.selected = String(sel);
      const box = row.querySelector<HTMLInputElement>("td.nbt-pick input");
      if (box) box.checked = sel;
    }
    this.changed();
    this.host.onRowsChange();
  }

  /** Show the rows that pass search, filter and brushes; hide the others. Cheap: no rebuild. */
  private applyVisibility(): void {
    const visible: string[] = [];
    const byId = new Map(this.runs.map((r) => [r.id, r]));
    const groupsShown = new Map<string, number>();
    for (const tr of this.tbody.rows) {
      const id = tr.dataset.runId;
      if (!id) continue;
      const r = byId.get(id);
      const show = !!r && this.matches(r);
      tr.hidden = !show;
      if (show) {
        visible.push(id);
        const g = tr.dataset.group;
        if (g !== undefined) groupsShown.set(g, (groupsShown.get(g) ?? 0) + 1);
      }
    }
    for (const tr of this.tbody.rows) {
      if (tr.classList.contains("nbt-group-row")) tr.hidden = !groupsShown.get(tr.dataset.group ?? "");
    }
    const changed = visible.join("\n") !== this.visibleIds.join("\n");
    this.visibleIds = visible;
    this.table.dataset.visibleRows = String(visible.length);
    this.count.textContent = `${visible.length} of ${this.runs.length} runs`;
    const selectAll = this.thead.querySelector<HTMLInputElement>(".nbt-select-all");
    if (selectAll) selectAll.checked = visible.length > 0 && visible.every((id) => this.isSelected(id));
    if (changed) this.host.onRowsChange();
  }
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function input(cls: string, placeholder: string, value: string): HTMLInputElement {
  const i = document.createElement("input");
  i.type = "search";
  i.className = cls;
  i.placeholder = placeholder;
  i.value = value;
  return i;
}
