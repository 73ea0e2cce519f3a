// What a compare view received, kept per widget model (as run-state.ts does for the run
// dashboard): the runs' rows, their curves, and the state of each run dashboard opened
// under the table. Every view of the same model draws from it.

import type { CurvesMessage, RunsMessage } from "../compare-protocol";
import { decodeCurves, decodeRun } from "../compare-protocol";
import type { ShareGrantMessage } from "../protocol";
import { mediaOf } from "../media/store";
import { RunState } from "../run-state";
import { GrantBox } from "../share-panel";
import { TIME_KEY } from "../series-store";
import { RunColors } from "./colors";
import { Curve } from "./curve";
import type { CompareRun } from "./types";

export type ProjectEvent =
  | { kind: "runs"; changed: string[]; removed: string[] }
  | { kind: "curves"; runs: Set<string>; keys: Set<string>; request: number | null }
  | { kind: "bokeh" }
  | { kind: "run"; run: string };

export class ProjectState {
  readonly runs = new Map<string, CompareRun>();
  /** run id -> key -> curve */
  readonly curves = new Map<string, Map<string, Curve>>();
  /** Metric keys in order of arrival (the charts' order); the time key is not one. */
  readonly keys: string[] = [];
  private readonly known = new Set<string>();
  /** The dashboards of runs opened under the table. */
  readonly opened = new Map<string, RunState>();
  bokehFiles: DataView[] | null = null;
  /** The project's share grant the kernel sent (share-panel.ts): in the page's memory only. */
  readonly shareGrant = new GrantBox();
  /** Each run's colour, by order of arrival (see colors.ts). */
  readonly colors = new RunColors();
  /** Each group's colour (a config value's), by order of first drawing. */
  readonly groupColors = new RunColors();
  private readonly listeners = new Set<(e: ProjectEvent) => void>();

  listen(fn: (e: ProjectEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  curve(run: string, key: string): Curve | undefined {
    return this.curves.get(run)?.get(key);
  }

  handle(msg: { type?: string }, buffers: DataView[]): void {
    switch (msg.type) {
      case "runs":
        this.onRuns(msg as RunsMessage);
        break;
      case "curves":
        this.onCurves(msg as CurvesMessage, buffers);
        break;
      case "bokeh":
        if (!this.bokehFiles) {
          this.bokehFiles = buffers;
          this.emit({ kind: "bokeh" });
        }
        break;
      case "share-grant":
        this.shareGrant.take(msg as ShareGrantMessage);
        break;
      case "run": {
        const m = msg as { run?: string; message?: { type?: string } };
        if (typeof m.run !== "string" || !m.message) break;
        let s = this.opened.get(m.run);
        if (!s) {
          s = new RunState();
          this.opened.set(m.run, s);
        }
        // Media messages (and answers to full-file requests) go to the run's media store.
        if (!mediaOf(s).handle(m.message, buffers)) s.handle(m.message, buffers);
        this.emit({ kind: "run", run: m.run });
        break;
      }
      default:
        break;
    }
  }

  private onRuns(msg: RunsMessage): void {
    const changed: string[] = [];
    for (const r of msg.runs ?? []) {
      const run = decodeRun(r);
      this.runs.set(run.id, run);
      this.colors.color(run.id);
      changed.push(run.id);
    }
    const removed = (msg.removed ?? []).filter((id) => this.runs.delete(id));
    for (const id of removed) {
      this.curves.delete(id);
      this.opened.delete(id);
    }
    this.emit({ kind: "runs", changed, removed });
  }

  private onCurves(msg: CurvesMessage, buffers: DataView[]): void {
    const runs = new Set<string>();
    const keys = new Set<string>();
    for (const c of decodeCurves(msg, buffers)) {
      let byKey = this.curves.get(c.run);
      if (!byKey) {
        byKey = new Map();
        this.curves.set(c.run, byKey);
      }
      let curve = byKey.get(c.key);
      if (!curve) {
        curve = new Curve(c.run, c.key);
        byKey.set(c.key, curve);
      }
      curve.take(c, msg.range);
      runs.add(c.run);
      keys.add(c.key);
      if (c.key !== TIME_KEY && !this.known.has(c.key)) {
        this.known.add(c.key);
        this.keys.push(c.key);
      }
    }
    this.emit({ kind: "curves", runs, keys, request: typeof msg.request === "number" ? msg.request : null });
  }

  private emit(e: ProjectEvent): void {
    for (const fn of this.listeners) fn(e);
  }
}

const states = new Map<string, ProjectState>();

export function projectState(uid: string): ProjectState {
  let s = states.get(uid);
  if (!s) {
    s = new ProjectState();
    states.set(uid, s);
  }
  return s;
}
