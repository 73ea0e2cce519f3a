// What a dashboard received, kept per widget model (not per view): JupyterLab may drop a
// cell's output view when it scrolls away and render it again, and a second view of the
// same widget must show the same thing. Keyed by the widget's `uid` traitlet because the
// model object handed to `initialize` and to `render` may be different proxies.

import type {
  BokehMessage,
  HeaderMessage,
  HistogramEntry,
  HistogramMessage,
  OverviewMessage,
  PointsMessage,
  RunHeader,
  RunOverview,
  ShareGrantMessage,
} from "./protocol";
import { decodeHeader, decodeHistograms, decodeOverview, decodePoints } from "./protocol";
import { SeriesStore } from "./series-store";
import { GrantBox } from "./share-panel";

export type RunEvent =
  | { kind: "points"; keys: string[] }
  | { kind: "header" }
  | { kind: "overview" }
  | { kind: "histograms"; entries: HistogramEntry[] }
  | { kind: "bokeh" };

export class RunState {
  readonly store = new SeriesStore();
  header: RunHeader | null = null;
  /** The last overview (notes, tags, config, code, system); null until one comes. */
  overview: RunOverview | null = null;
  /** Every histogram entry received, in order. */
  readonly histograms: HistogramEntry[] = [];
  bokehFiles: DataView[] | null = null;
  /** The last header and overview as they came: what the Export button writes (export.ts). */
  headerMessage: HeaderMessage | null = null;
  overviewMessage: OverviewMessage | null = null;
  /** The share grant the kernel sent (share-panel.ts): in the page's memory only. */
  readonly shareGrant = new GrantBox();
  private readonly listeners = new Set<(e: RunEvent) => void>();

  listen(fn: (e: RunEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  handle(msg: { type?: string }, buffers: DataView[]): void {
    switch (msg.type) {
      case "points": {
        const keys = this.store.ingest(decodePoints(msg as PointsMessage, buffers));
        this.emit({ kind: "points", keys });
        break;
      }
      case "header":
        this.headerMessage = msg as HeaderMessage;
        this.header = decodeHeader(this.headerMessage);
        this.emit({ kind: "header" });
        break;
      case "overview":
        this.overviewMessage = msg as OverviewMessage;
        this.overview = decodeOverview(this.overviewMessage);
        this.emit({ kind: "overview" });
        break;
      case "histograms": {
        const entries = decodeHistograms(msg as HistogramMessage, buffers);
        for (const e of entries) this.histograms.push(e); // no spread: may be thousands
        this.emit({ kind: "histograms", entries });
        break;
      }
      case "bokeh":
        if (!this.bokehFiles) {
          this.bokehFiles = buffers;
          this.emit({ kind: "bokeh" });
        }
        void (msg as BokehMessage);
        break;
      case "share-grant":
        this.shareGrant.take(msg as ShareGrantMessage);
        break;
      default:
        break;
    }
  }

  private emit(e: RunEvent): void {
    for (const fn of this.listeners) fn(e);
  }
}

const states = new Map<string, RunState>();

export function runState(uid: string): RunState {
  let s = states.get(uid);
  if (!s) {
    s = new RunState();
    states.set(uid, s);
  }
  return s;
}
