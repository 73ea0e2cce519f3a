// What the runs table shows and sorts by in each column, and how a value reads as text.

import { formatDuration, formatValue } from "../format";
import type { CellValue, CompareRun } from "./types";
import { own } from "./types";

export const FIXED_COLUMNS = ["name", "state", "created", "runtime", "tags", "notes", "commit"] as const;

/** W&B's grouping of runs: columns (after "state") only when some run has a value. */
export const GROUPING_COLUMNS = ["group", "job_type", "sweep"] as const;

/** The fixed columns, with those of `GROUPING_COLUMNS` some run of `runs` has a value in. */
export function fixedColumns(runs: CompareRun[]): string[] {
  const grouping = GROUPING_COLUMNS.filter((c) => runs.some((r) => r[c] !== null));
  return [FIXED_COLUMNS[0], FIXED_COLUMNS[1], ...grouping, ...FIXED_COLUMNS.slice(2)];
}

/** The value of column `col` for `run` ("config:lr", "summary:val/acc", or a fixed one). */
export function columnValue(run: CompareRun, col: string): CellValue | undefined {
  if (col.startsWith("config:")) return own(run.config, col.slice(7));
  if (col.startsWith("summary:")) return own(run.summary, col.slice(8));
  switch (col) {
    case "name":
      return run.name;
    case "state":
      return run.state;
    case "created":
      return run.created_at;
    case "runtime":
      return run.runtime;
    case "tags":
      return run.tags;
    case "notes":
      return run.notes || undefined;
    case "commit":
      return run.git.commit ?? undefined;
    case "group":
    case "job_type":
    case "sweep":
      return run[col] ?? undefined;
    default:
      return undefined;
  }
}

/** Text of a value as a cell shows it (never markup: the caller sets it as textContent). */
export function cellText(v: CellValue | undefined, col = ""): string {
  if (v === undefined || v === null) return "";
  if (col === "created" && typeof v === "number") return formatTime(v);
  if (col === "runtime" && typeof v === "number") return formatDuration(v);
  if (col === "commit" && typeof v === "string") return v.slice(0, 8);
  if (typeof v === "number") return formatValue(v);
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "string") return v;
  if (Array.isArray(v)) return v.map((x) => cellText(x)).join(", ");
  return JSON.stringify(v);
}

export function formatTime(unix: number): string {
  if (!Number.isFinite(unix)) return "";
  const d = new Date(unix * 1000);
  const p = (n: number): string => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

/**
 * Order of two values in an ascending sort: numbers as numbers (NaN after every number),
 * then booleans, then text; missing values are not compared here (always last, see
 * `sortRuns`).
 */
export function compareValues(a: CellValue, b: CellValue): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (typeof a === "number" && typeof b === "number") {
    if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) ? (Number.isNaN(b) ? 0 : 1) : -1;
    return a - b;
  }
  if (typeof a === "boolean" && typeof b === "boolean") return Number(a) - Number(b);
  const sa = cellText(a);
  const sb = cellText(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

function rank(v: CellValue): number {
  if (typeof v === "number") return 0;
  if (typeof v === "boolean") return 1;
  return 2;
}

function missing(v: CellValue | undefined): boolean {
  return v === undefined || v === null || (Array.isArray(v) && v.length === 0) || v === "";
}

/** Where a value goes whatever the direction: 0 sorted, 1 NaN (after every number), 2 missing. */
function tail(v: CellValue | undefined): number {
  if (missing(v)) return 2;
  return typeof v === "number" && Number.isNaN(v) ? 1 : 0;
}

/**
 * Runs sorted by a column; NaN (a diverged run) and then missing values last whichever the
 * direction, so "best first" never starts with a run that has no number. Stable.
 */
export function sortRuns(runs: CompareRun[], col: string, desc: boolean): CompareRun[] {
  const keyed = runs.map((r, i) => ({ r, i, v: columnValue(r, col) }));
  keyed.sort((a, b) => {
    const ta = tail(a.v);
    const tb = tail(b.v);
    if (ta || tb) return ta === tb ? a.i - b.i : ta - tb;
    const c = compareValues(a.v as CellValue, b.v as CellValue);
    return (desc ? -c : c) || a.i - b.i;
  });
  return keyed.map((k) => k.r);
}

/** Config keys whose values differ between runs (a key some runs lack differs). */
export function varyingKeys(runs: CompareRun[], keys: string[]): string[] {
  return keys.filter((k) => {
    let first: string | undefined;
    for (const r of runs) {
      const v = Object.prototype.hasOwnProperty.call(r.config, k) ? identity(r.config[k] as CellValue) : "\u0000missing";
      if (first === undefined) first = v;
      else if (v !== first) return true;
    }
    return false;
  });
}

/** Every key of `pick(run)` over the runs, in order of first appearance. */
export function allKeys(runs: CompareRun[], pick: (r: CompareRun) => Record<string, unknown>): string[] {
  const seen = new Set<string>();
  for (const r of runs) for (const k of Object.keys(pick(r))) seen.add(k);
  return [...seen];
}

/** A value as text that tells NaN, infinities and null apart (JSON writes all as null). */
function identity(v: CellValue): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === "number" && !Number.isFinite(x) ? `\u0000${x}` : x));
}
