// One table key's panel: the newest step's table (a step select when there are several),
// sorted by a click on a column header (again: descending, a third time: as logged), a
// filter box (rows with the text in any string or number cell), image cells as thumbnails,
// and "n of m rows". Sorting and filtering are `tableRows` (no DOM, tested in Node).

import type { Cell, ImageItem, MediaEntry, TablePayload } from "../protocol";
import type { Lightbox } from "./lightbox";
import { panelEl, titleEl } from "./image-panel";
import { ClassToggles } from "./overlay";
import type { KeyMedia, MediaStore } from "./store";

/** Rows put in the page at most; the count still says how many match. */
export const MAX_ROWS = 1000;

export interface TableSort {
  column: number;
  dir: "asc" | "desc";
}

/** The text of a cell that the filter looks in (strings and numbers only). */
function filterText(c: Cell): string | null {
  if (typeof c === "string") return c.toLowerCase();
  if (typeof c === "number") return cellText(c).toLowerCase();
  return null;
}

/** A cell as the table writes it. */
export function cellText(c: Cell): string {
  if (c === null) return "";
  if (typeof c === "number") {
    if (Number.isNaN(c)) return "NaN";
    if (!Number.isFinite(c)) return c > 0 ? "inf" : "-inf";
    return Number.isInteger(c) ? String(c) : String(Number(c.toPrecision(6)));
  }
  if (typeof c === "boolean") return c ? "true" : "false";
  if (typeof c === "string") return c;
  return c.caption ?? "";
}

// Sort rank of a cell's kind: numbers, then text, then images (by caption), empty last.
function rank(c: Cell): number {
  if (c === null || (typeof c === "number" && Number.isNaN(c))) return 4;
  if (typeof c === "number" || typeof c === "boolean") return 0;
  if (typeof c === "string") return 1;
  return 2;
}

function compare(a: Cell, b: Cell): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (ra === 0) return Number(a) - Number(b) || 0;
  if (ra === 4) return 0;
  return cellText(a).localeCompare(cellText(b));
}

/**
 * The rows (their indexes in `t.data`) shown for a filter text and a sort: those with the
 * text (case-insensitive) in a string or number cell, ordered by the sorted column (stable;
 * empty cells and NaN last either way).
 *
 * Example: for data [[2, "b"], [1, "a"]], `tableRows(t, "", { column: 0, dir: "asc" })` is [1, 0].
 */
export function tableRows(t: TablePayload, filter: string, sort: TableSort | null): number[] {
  const q = filter.trim().toLowerCase();
  let rows = t.data.map((_, i) => i);
  if (q) {
    rows = rows.filter((i) => (t.data[i] as Cell[]).some((c) => filterText(c)?.includes(q) ?? false));
  }
  if (sort && sort.column >= 0 && sort.column < t.columns.length) {
    const col = sort.column;
    const sign = sort.dir === "asc" ? 1 : -1;
    rows.sort((i, j) => {
      const a = (t.data[i] as Cell[])[col] ?? null;
      const b = (t.data[j] as Cell[])[col] ?? null;
      const ea = rank(a) === 4;
      const eb = rank(b) === 4;
      if (ea || eb) return ea === eb ? i - j : ea ? 1 : -1; // empty last, both ways
      return sign * compare(a, b) || i - j;
    });
  }
  return rows;
}

/** The sort after a click on `column`: ascending, then descending, then none. */
export function nextSort(sort: TableSort | null, column: number): TableSort | null {
  if (!sort || sort.column !== column) return { column, dir: "asc" };
  return sort.dir === "asc" ? { column, dir: "desc" } : null;
}

export function countText(shown: number, total: number): string {
  return `${shown} of ${total} rows`;
}

/** A step select of a panel's held entries (hidden while there is one); the newest first. */
export class StepSelect {
  readonly el: HTMLSelectElement;
  /** The chosen entry's index; null: follow the newest. */
  chosen: number | null = null;

  constructor(onChange: () => void) {
    this.el = document.createElement("select");
    this.el.className = "nbt-media-step-select";
    this.el.title = "step";
    this.el.addEventListener("change", () => {
      const v = this.el.value;
      const first = this.el.options[0]?.value;
      this.chosen = v === first ? null : Number(v);
      onChange();
    });
  }

  /** The options for the held entries; the entry to show. */
  update(km: KeyMedia): MediaEntry | undefined {
    const held = km.held();
    const sig = held.map((e) => `${e.index}:${e.step}`).join(",");
    if (this.el.dataset.sig !== sig) {
      this.el.dataset.sig = sig;
      this.el.replaceChildren(
        ...held
          .slice()
          .reverse()
          .map((e) => {
            const o = document.createElement("option");
            o.value = String(e.index);
            o.textContent = `step ${e.step}`;
            return o;
          }),
      );
    }
    this.el.hidden = held.length <= 1;
    let e = this.chosen === null ? undefined : held.find((h) => h.index === this.chosen);
    if (!e) {
      this.chosen = null;
      e = held[held.length - 1];
    }
    if (e) this.el.value = String(e.index);
    return e;
  }
}

export class TablePanel {
  readonly el: HTMLElement;
  private readonly steps: StepSelect;
  private readonly filter: HTMLInputElement;
  private readonly count: HTMLElement;
  private readonly more: HTMLElement;
  private readonly table: HTMLTableElement;
  private readonly thead: HTMLTableSectionElement;
  private readonly tbody: HTMLTableSectionElement;
  private sort: TableSort | null = null;
  private shown: MediaEntry | null = null;
  private readonly toggles = new ClassToggles();

  constructor(
    private readonly km: KeyMedia,
    private readonly store: MediaStore,
    private readonly lightbox: Lightbox,
  ) {
    this.el = panelEl(km.key, "table");
    const bar = document.createElement("div");
    bar.className = "nbt-media-bar";
    this.steps = new StepSelect(() => this.update());
    this.filter = document.createElement("input");
    this.filter.type = "search";
    this.filter.className = "nbt-media-filter";
    this.filter.placeholder = "filter rows";
    this.count = document.createElement("span");
    this.count.className = "nbt-media-count";
    this.more = document.createElement("span");
    this.more.className = "nbt-media-more";
    bar.append(titleEl(km.key), this.steps.el, this.filter, this.count, this.more);
    const wrap = document.createElement("div");
    wrap.className = "nbt-media-table";
    this.table = document.createElement("table");
    this.thead = document.createElement("thead");
    this.tbody = document.createElement("tbody");
    this.table.append(this.thead, this.tbody);
    wrap.append(this.table);
    this.el.append(bar, wrap);
    this.filter.addEventListener("input", () => this.drawRows());
    this.thead.addEventListener("click", (e) => {
      const th = e.target instanceof Element ? e.target.closest("th") : null;
      if (!th) return;
      this.sort = nextSort(this.sort, Number(th.dataset.column));
      this.drawHead();
      this.drawRows();
    });
    this.tbody.addEventListener("click", (e) => {
      const img = e.target instanceof HTMLImageElement ? e.target : null;
      const cell = img?.closest("td");
      if (!img || !cell || !this.shown || this.shown.payload.kind !== "table") return;
      const row = this.shown.payload.table.data[Number(cell.parentElement?.dataset.row)];
      const c = row?.[Number(cell.dataset.column)];
      if (c && typeof c === "object") this.lightbox.open(c as ImageItem, this.toggles);
    });
    this.update();
  }

  update(): void {
    const e = this.steps.update(this.km);
    if (!e || e === this.shown) return;
    const sameColumns =
      this.shown?.payload.kind === "table" &&
      e.payload.kind === "table" &&
      this.shown.payload.table.columns.join("\n") === e.payload.table.columns.join("\n");
    this.shown = e;
    this.el.dataset.step = String(e.step);
    if (!sameColumns) this.sort = null;
    this.drawHead();
    this.drawRows();
  }

  private drawHead(): void {
    const t = this.shown?.payload.kind === "table" ? this.shown.payload.table : null;
    const tr = document.createElement("tr");
    (t?.columns ?? []).forEach((name, i) => {
      const th = document.createElement("th");
      th.textContent = name;
      th.dataset.column = String(i);
      th.title = "sort";
      if (this.sort?.column === i) th.dataset.sort = this.sort.dir;
      tr.append(th);
    });
    this.thead.replaceChildren(tr);
  }

  private drawRows(): void {
    const t = this.shown?.payload.kind === "table" ? this.shown.payload.table : null;
    if (!t) return;
    const rows = tableRows(t, this.filter.value, this.sort);
    this.count.textContent = countText(rows.length, t.rows);
    this.more.textContent = rows.length > MAX_ROWS ? `(the first ${MAX_ROWS} shown)` : "";
    const frag = document.createDocumentFragment();
    for (const i of rows.slice(0, MAX_ROWS)) {
      const tr = document.createElement("tr");
      tr.dataset.row = String(i);
      (t.data[i] as Cell[]).forEach((c, j) => {
        const td = document.createElement("td");
        td.dataset.column = String(j);
        if (c !== null && typeof c === "object") {
          const img = document.createElement("img");
          img.className = "nbt-media-cell-img";
          img.dataset.name = c.thumb;
          img.alt = c.caption ?? "";
          img.loading = "lazy";
          const url = this.store.url(c.thumb);
          if (url) img.src = url;
          td.append(img);
          if (c.caption) td.title = c.caption;
        } else {
          td.textContent = cellText(c);
          if (typeof c === "number") td.className = "nbt-num";
        }
        tr.append(td);
      });
      frag.append(tr);
    }
    this.tbody.replaceChildren(frag);
  }

  destroy(): void {}
}
