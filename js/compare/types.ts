// The compare view's picture of a run: one row of the runs table, as decoded from the
// compare wire format (js/compare-protocol.ts). Numbers are parsed (NaN and infinities are
// numbers here); config and summary are flattened with "." for nested dicts, as W&B shows
// them (`config:optimizer.lr`).

/** A config or summary value as the table, the filter and the parallel coordinates see it. */
export type CellValue = number | string | boolean | null | CellValue[] | { [k: string]: CellValue };

export interface GitInfo {
  commit: string | null;
  branch: string | null;
  dirty: boolean | null;
  /** The commit's page on the remote's web site (GitHub, GitLab, ...); null when unknown. */
  url: string | null;
}

export interface CompareRun {
  id: string;
  name: string;
  project: string;
  entity: string | null;
  state: string;
  /** Unix seconds. */
  created_at: number;
  /** Seconds from start to the end (or to the last heartbeat while it runs). */
  runtime: number;
  tags: string[];
  notes: string;
  git: GitInfo;
  config: Record<string, CellValue>;
  summary: Record<string, CellValue>;
  /** The run's own page (on the server); null in a notebook. */
  url: string | null;
  /** W&B's grouping of runs (`init(group=, job_type=)`) and the sweep it ran in; null: none. */
  group: string | null;
  job_type: string | null;
  sweep: string | null;
}

/**
 * What a filter expression reads of a run: a field name as the grammar writes it
 * ("name", "id", "state", "tags", "notes", "project", "created", "runtime", "commit",
 * "group", "job_type", "sweep", "config.lr", "summary.val/acc"), or undefined when the run
 * has no such field (a run outside any group has no "group").
 */
export type FieldLookup = (field: string) => unknown;

/** The lookup of one run's fields, as `FieldLookup` defines them. */
export function runFields(run: CompareRun): FieldLookup {
  return (field: string): unknown => {
    if (field.startsWith("config.")) return own(run.config, field.slice(7));
    if (field.startsWith("summary.")) return own(run.summary, field.slice(8));
    switch (field) {
      case "name":
        return run.name;
      case "id":
        return run.id;
      case "state":
        return run.state;
      case "tags":
        return run.tags;
      case "notes":
        return run.notes;
      case "project":
        return run.project;
      case "created":
        return run.created_at;
      case "runtime":
        return run.runtime;
      case "commit":
        return run.git.commit ?? undefined;
      case "group":
        return run.group ?? undefined;
      case "job_type":
        return run.job_type ?? undefined;
      case "sweep":
        return run.sweep ?? undefined;
      default:
        return undefined;
    }
  };
}

/** `o[key]` when `o` has that key itself; undefined for a missing one, even `constructor`. */
export function own<T>(o: Record<string, T>, key: string): T | undefined {
  return Object.prototype.hasOwnProperty.call(o, key) ? o[key] : undefined;
}
