// The widget's contract with Python: the traitlets (snake_case, as in
// nbtrack/widget/_dashboard.py) and the custom messages Python sends.

/** What a person chose in the dashboard; saved in the widget state once the kernel is free. */
export interface Layout {
  /** EMA weight in [0, 1). */
  smoothing?: number;
  /** "step", "relative", "wall", or the key of a logged metric such as "epoch". */
  x_axis?: string;
  /** Chart ids drawn with a log y axis. */
  log_y?: string[];
  /** Series key -> the chart id it is drawn in (when not its own). */
  merged?: Record<string, string>;
  /** Series keys hidden from their chart through the legend. */
  hidden?: string[];
  /** Section names folded shut. */
  collapsed?: string[];
}

/** The traitlets of `Dashboard` (Python). */
export interface Model {
  uid: string;
  run_id: string;
  chart_layout: Layout;
}

export interface SeriesHeader {
  key: string;
  n: number;
  first?: number;
  stride?: number;
  steps?: "i32" | "f64";
  steps_buf?: number;
  values: "f32" | "f64";
  values_buf: number;
}

export interface PointsMessage {
  type: "points";
  t0: number;
  series: SeriesHeader[];
}

export interface Alert {
  title: string;
  text: string;
  level: "INFO" | "WARN" | "ERROR" | string;
  step: number | null;
}

/** Numbers JSON cannot carry arrive as strings: "nan", "inf", "-inf". */
export type JsonNumber = number | string;

export interface HeaderMessage {
  type: "header";
  id: string;
  name: string;
  project: string;
  state: string;
  step: number;
  created_at: number;
  elapsed: number;
  rate: JsonNumber | null;
  last: Record<string, JsonNumber>;
  alerts: Alert[];
  error: string | null;
}

export interface BokehMessage {
  type: "bokeh";
  version: string;
  files: string[];
}

export function parseNumber(x: JsonNumber): number {
  if (typeof x === "number") return x;
  if (x === "inf") return Infinity;
  if (x === "-inf") return -Infinity;
  return NaN;
}
