// What every line chart of the views shares: the Bokeh figure, styled alike, and how a
// chart that follows its data pads the y range it fits.

import type { BokehNS } from "../bokeh-loader";
import { extent } from "../reduce";
import type { XMode } from "../x-axis";
import { xLabel } from "../x-axis";

/** A 230 px high figure with our tools and axes, over Range1d x and y ranges. */
export function lineFigure(B: BokehNS, mode: XMode, logY: boolean): BokehNS {
  const x_range = new B.Range1d({ start: 0, end: 1 });
  const y_range = new B.Range1d({ start: logY ? 0.1 : 0, end: 1 });
  const p = B.Plotting.figure({
    height: 230,
    sizing_mode: "stretch_width",
    x_range,
    y_range,
    x_axis_type: mode === "wall" ? "datetime" : "linear",
    y_axis_type: logY ? "log" : "linear",
    tools: "pan,wheel_zoom,box_zoom,reset,save",
    toolbar_location: "above",
    x_axis_label: xLabel(mode),
    background_fill_color: "#ffffff",
    border_fill_color: "#ffffff",
    outline_line_color: null,
    min_border_left: 44,
    min_border_right: 12,
    min_border_top: 4,
    min_border_bottom: 4,
  });
  return styleFigure(p);
}

/**
 * Our look on a Bokeh figure: a toolbar that hides and has no logo, quiet axes and grid.
 * Every figure of the views (line charts, media plots) wears it; returns the figure.
 */
export function styleFigure(p: BokehNS): BokehNS {
  p.toolbar.autohide = true;
  p.toolbar.logo = null;
  for (const axis of [...p.xaxis, ...p.yaxis]) {
    axis.axis_line_color = "#cbd5e1";
    axis.major_tick_line_color = "#cbd5e1";
    axis.minor_tick_line_color = null;
    axis.major_label_text_color = "#475569";
    axis.major_label_text_font_size = "11px";
    axis.axis_label_text_font_size = "11px";
    axis.axis_label_text_color = "#64748b";
    axis.axis_label_text_font_style = "normal";
  }
  for (const grid of [...p.xgrid, ...p.ygrid]) grid.grid_line_color = "#eef2f7";
  return p;
}

/**
 * The y range a following chart shows for data spanning [lo, hi]: 6% more on each side (5%
 * of the ratio on a log axis), and a flat line given some height.
 *
 * Example: `paddedY(0, 1, false)` is `[-0.06, 1.06]`.
 */
export function paddedY(lo: number, hi: number, logY: boolean): [number, number] {
  if (logY) {
    const pad = Math.pow(hi / lo, 0.05) || 1.1;
    lo /= pad;
    hi *= pad;
    if (lo === hi) {
      lo /= 2;
      hi *= 2;
    }
    return [lo, hi];
  }
  const pad = (hi - lo) * 0.06 || Math.abs(hi) * 0.1 || 1;
  return [lo - pad, hi + pad];
}

/** Show [x0, x1] and the padded extent of the drawn lines' y values (a following chart). */
export function fitRanges(plot: BokehNS, x0: number, x1: number, ys: number[][], logY: boolean): void {
  plot.x_range.setv({ start: x0, end: x1 });
  const yr = extent(ys, logY);
  if (yr) {
    const [lo, hi] = paddedY(yr[0], yr[1], logY);
    plot.y_range.setv({ start: lo, end: hi });
  }
}
