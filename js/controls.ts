// The controls above the charts that the run dashboard and the compare view share: the
// smoothing slider and the x-axis choice.

export interface ChartControls {
  el: HTMLElement;
  smoothing: HTMLInputElement;
  smoothingValue: HTMLElement;
  xAxis: HTMLSelectElement;
}

export function chartControls(smoothing: number): ChartControls {
  const el = document.createElement("div");
  el.className = "nbt-controls";
  const sLabel = document.createElement("label");
  sLabel.textContent = "smoothing";
  const input = document.createElement("input");
  input.type = "range";
  input.className = "nbt-smoothing";
  input.min = "0";
  input.max = "0.99";
  input.step = "0.01";
  input.value = String(smoothing);
  const value = document.createElement("span");
  value.className = "nbt-smoothing-value";
  value.textContent = input.value;
  sLabel.append(input, value);
  const xLabelEl = document.createElement("label");
  xLabelEl.textContent = "x axis";
  const xAxis = document.createElement("select");
  xAxis.className = "nbt-xaxis";
  xLabelEl.append(xAxis);
  el.append(sLabel, xLabelEl);
  return { el, smoothing: input, smoothingValue: value, xAxis };
}

/**
 * Offer step, relative and wall time, and each metric as the x axis; keep `current` chosen
 * when it is still offered. With `auto` (its label), a first choice "" that leaves each
 * chart its own x axis (the run dashboard's metric definitions). Nothing happens when the
 * choices have not changed.
 */
export function offerXAxes(select: HTMLSelectElement, metrics: string[], current: string, auto?: string): void {
  const options: [string, string][] = [
    ...(auto === undefined ? [] : [["", auto] as [string, string]]),
    ["step", "step"],
    ["relative", "relative time"],
    ["wall", "wall time"],
    ...metrics.map((k): [string, string] => [k, k]),
  ];
  if (select.options.length === options.length && select.options[0]?.value === options[0]?.[0]) return;
  select.replaceChildren(
    ...options.map(([v, label]) => {
      const o = document.createElement("option");
      o.value = v;
      o.textContent = label;
      return o;
    }),
  );
  select.value = options.some(([v]) => v === current) ? current : (options[0]?.[0] ?? "step");
}
