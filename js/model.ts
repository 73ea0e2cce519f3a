// The widget's contract with Python: the traitlets (snake_case, as in
// nbtrack/widget/_dashboard.py). The custom messages Python sends are in protocol.ts.

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
