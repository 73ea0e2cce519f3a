// The dashboard's CSS, added to the page once. Everything is scoped under
// `.nbtrack-dashboard`; JupyterLab's theme variables are used where they exist.

import { OVERVIEW_CSS } from "./overview";
import { PARALLEL_CSS } from "./compare/parallel";
import { COMPARE_CSS } from "./compare/styles";

const CSS = `
.nbtrack-dashboard {
  --nbt-fg: var(--jp-ui-font-color1, #1e293b);
  --nbt-muted: var(--jp-ui-font-color2, #64748b);
  --nbt-border: #e2e8f0;
  --nbt-card: #ffffff;
  --nbt-bg: #f8fafc;
  font-family: var(--jp-ui-font-family, system-ui, -apple-system, "Segoe UI", sans-serif);
  font-size: 13px;
  color: var(--nbt-fg);
  background: var(--nbt-bg);
  border: 1px solid var(--nbt-border);
  border-left: 4px solid #2563eb;
  border-radius: 8px;
  padding: 10px 12px 12px;
  margin: 4px 0;
  box-sizing: border-box;
}
.nbtrack-dashboard[data-state="finished"] { border-left-color: #059669; }
.nbtrack-dashboard[data-state="failed"], .nbtrack-dashboard[data-state="crashed"] {
  border-left-color: #dc2626; background: #fef2f2;
}
.nbtrack-dashboard[data-state="interrupted"] { border-left-color: #d97706; }
.nbtrack-dashboard .nbt-header { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 16px; }
.nbtrack-dashboard .nbt-title { display: flex; align-items: baseline; gap: 8px; min-width: 0; }
.nbtrack-dashboard .nbt-name { font-weight: 600; font-size: 15px; }
.nbtrack-dashboard .nbt-path { color: var(--nbt-muted); font-family: var(--jp-code-font-family, monospace); font-size: 11px; }
.nbtrack-dashboard .nbt-state {
  font-size: 11px; font-weight: 600; text-transform: uppercase; letter-spacing: .04em;
  padding: 2px 8px; border-radius: 999px; background: #dbeafe; color: #1d4ed8; align-self: center;
}
.nbtrack-dashboard .nbt-state[data-state="running"]::before {
  content: ""; display: inline-block; width: 7px; height: 7px; border-radius: 50%;
  background: currentColor; margin-right: 5px; vertical-align: 1px;
  animation: nbt-pulse 1.2s ease-in-out infinite;
}
@keyframes nbt-pulse { 50% { opacity: .25; } }
.nbtrack-dashboard .nbt-state[data-state="finished"] { background: #d1fae5; color: #047857; }
.nbtrack-dashboard .nbt-state[data-state="failed"], .nbtrack-dashboard .nbt-state[data-state="crashed"] {
  background: #fee2e2; color: #b91c1c;
}
.nbtrack-dashboard .nbt-state[data-state="interrupted"] { background: #fef3c7; color: #b45309; }
.nbtrack-dashboard .nbt-sync {
  display: inline-flex; align-items: baseline; gap: 8px; max-width: 100%; min-width: 0;
  font-size: 12px; color: var(--nbt-muted);
}
.nbtrack-dashboard .nbt-sync[hidden], .nbtrack-dashboard .nbt-sync-link[hidden] { display: none; }
.nbtrack-dashboard .nbt-sync-text {
  padding: 1px 8px; border-radius: 999px; background: #f1f5f9; color: #475569;
  overflow: hidden; text-overflow: ellipsis; white-space: nowrap; max-width: 48ch;
}
.nbtrack-dashboard .nbt-sync[data-sync-state="syncing"] .nbt-sync-text { background: #dbeafe; color: #1d4ed8; }
.nbtrack-dashboard .nbt-sync[data-sync-state="synced"] .nbt-sync-text { background: #d1fae5; color: #047857; }
.nbtrack-dashboard .nbt-sync[data-sync-state="behind"] .nbt-sync-text,
.nbtrack-dashboard .nbt-sync[data-sync-state="unreachable"] .nbt-sync-text { background: #fef3c7; color: #b45309; }
.nbtrack-dashboard .nbt-sync[data-sync-state="refused"] .nbt-sync-text { background: #fee2e2; color: #b91c1c; }
.nbtrack-dashboard .nbt-sync-link { color: #2563eb; text-decoration: none; white-space: nowrap; }
.nbtrack-dashboard .nbt-sync-link:hover { text-decoration: underline; }
.nbtrack-dashboard .nbt-facts { display: flex; gap: 14px; color: var(--nbt-muted); }
.nbtrack-dashboard .nbt-fact-key { margin-right: 4px; }
.nbtrack-dashboard .nbt-fact-value { color: var(--nbt-fg); font-variant-numeric: tabular-nums; font-weight: 500; }
.nbtrack-dashboard .nbt-last { display: flex; flex-wrap: wrap; gap: 6px; flex-basis: 100%; }
.nbtrack-dashboard .nbt-chip {
  background: var(--nbt-card); border: 1px solid var(--nbt-border); border-radius: 6px;
  padding: 2px 8px; font-variant-numeric: tabular-nums;
}
.nbtrack-dashboard .nbt-chip-key { color: var(--nbt-muted); margin-right: 6px; }
.nbtrack-dashboard .nbt-chip-value { font-weight: 600; }
.nbtrack-dashboard .nbt-alerts:empty { display: none; }
.nbtrack-dashboard .nbt-alerts { flex-basis: 100%; display: grid; gap: 4px; }
.nbtrack-dashboard .nbt-alert { padding: 4px 8px; border-radius: 6px; background: #eff6ff; }
.nbtrack-dashboard .nbt-alert[data-level="WARN"] { background: #fffbeb; }
.nbtrack-dashboard .nbt-alert[data-level="ERROR"] { background: #fee2e2; color: #991b1b; }
.nbtrack-dashboard .nbt-error { flex-basis: 100%; color: #991b1b; }
.nbtrack-dashboard .nbt-error summary { cursor: pointer; font-family: var(--jp-code-font-family, monospace); }
.nbtrack-dashboard .nbt-error pre {
  max-height: 260px; overflow: auto; background: #fff; border: 1px solid #fecaca;
  border-radius: 6px; padding: 8px; font-size: 11px; white-space: pre-wrap;
}
.nbtrack-dashboard .nbt-controls {
  display: flex; flex-wrap: wrap; align-items: center; gap: 8px 18px; margin: 10px 0 4px;
  color: var(--nbt-muted); font-size: 12px;
}
.nbtrack-dashboard .nbt-actions { display: flex; gap: 8px; align-items: center; margin: 4px 0 8px; flex-wrap: wrap; }
.nbtrack-dashboard .nbt-actions[hidden] { display: none; }
.nbtrack-dashboard .nbt-controls label { display: inline-flex; align-items: center; gap: 6px; }
.nbtrack-dashboard .nbt-controls input[type=range] { width: 140px; accent-color: #2563eb; }
.nbtrack-dashboard .nbt-smoothing-value { font-variant-numeric: tabular-nums; min-width: 2.5em; color: var(--nbt-fg); }
.nbtrack-dashboard select, .nbtrack-dashboard button {
  font: inherit; font-size: 12px; color: var(--nbt-fg); background: var(--nbt-card);
  border: 1px solid var(--nbt-border); border-radius: 5px; padding: 1px 6px; cursor: pointer;
}
.nbtrack-dashboard button[aria-pressed="true"] { background: #dbeafe; border-color: #93c5fd; color: #1d4ed8; }
.nbtrack-dashboard details.nbt-section { margin-top: 8px; }
.nbtrack-dashboard details.nbt-section > summary {
  cursor: pointer; font-weight: 600; padding: 4px 0; color: var(--nbt-fg); user-select: none;
}
.nbtrack-dashboard .nbt-section-count { color: var(--nbt-muted); font-weight: 400; margin-left: 6px; }
.nbtrack-dashboard .nbt-grid {
  display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); gap: 10px;
}
.nbtrack-dashboard .nbtrack-chart {
  background: var(--nbt-card); border: 1px solid var(--nbt-border); border-radius: 8px;
  padding: 6px 8px 4px; min-width: 0;
}
.nbtrack-dashboard .nbt-chart-bar { display: flex; align-items: center; gap: 6px; min-height: 22px; }
.nbtrack-dashboard .nbt-chart-title {
  flex: 1; font-weight: 600; font-size: 12px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
}
.nbtrack-dashboard .nbt-chart-bar select, .nbtrack-dashboard .nbt-chart-bar button { font-size: 11px; padding: 0 5px; }
.nbtrack-dashboard .nbt-plot { min-height: 230px; }
/* A chart not built yet holds its place: the page does not jump as charts come. */
.nbtrack-dashboard .nbt-chart-host { min-height: 230px; }
.nbtrack-dashboard .nbt-feed {
  float: right; margin-left: 12px; font-size: 11px; color: var(--nbt-muted); white-space: nowrap;
}
.nbtrack-dashboard .nbt-feed::before {
  content: ""; display: inline-block; width: 7px; height: 7px; border-radius: 50%;
  background: currentColor; margin-right: 5px; vertical-align: 1px;
}
.nbtrack-dashboard.nbt-live .nbt-feed { color: #047857; }
.nbtrack-dashboard.nbt-reconnecting .nbt-feed { color: #b45309; }
.nbtrack-dashboard.nbt-reconnecting .nbt-feed::before { animation: nbt-pulse 1.2s ease-in-out infinite; }
.nbtrack-dashboard .nbt-notice { color: var(--nbt-muted); padding: 12px 2px; }
.nbtrack-dashboard .nbt-notice:empty { display: none; }
`;

// The Media section (media/section.ts): panels a key, the image grid with its overlays, the
// lightbox over the whole window, tables, plots and players.
const MEDIA_CSS = `
.nbtrack-dashboard .nbt-media { margin-top: 10px; }
.nbtrack-dashboard .nbt-media[hidden], .nbtrack-dashboard .nbt-media [hidden] { display: none !important; }
.nbtrack-dashboard .nbt-media > details > summary { cursor: pointer; font-weight: 600; padding: 4px 0; user-select: none; }
.nbtrack-dashboard .nbt-media-body { display: flex; flex-direction: column; gap: 10px; }
/* Contained: a slider move's changes inside a panel lay out nothing outside it. */
.nbtrack-dashboard .nbt-media-panel {
  background: var(--nbt-card); border: 1px solid var(--nbt-border); border-radius: 8px;
  padding: 6px 8px 8px; min-width: 0; contain: layout style;
}
.nbtrack-dashboard .nbt-media-bar { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 12px; min-height: 22px; margin-bottom: 6px; }
.nbtrack-dashboard .nbt-media-title { font-weight: 600; font-size: 12px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; max-width: 40ch; }
.nbtrack-dashboard .nbt-media-slider { flex: 1; min-width: 120px; max-width: 420px; accent-color: #2563eb; }
.nbtrack-dashboard .nbt-media-step {
  font-variant-numeric: tabular-nums; color: var(--nbt-muted); font-size: 12px;
  display: inline-block; min-width: 10ch; height: 16px; line-height: 16px; contain: strict; white-space: nowrap;
}
.nbtrack-dashboard .nbt-media-grid { display: flex; flex-wrap: wrap; gap: 8px; align-items: flex-start; }
.nbtrack-dashboard .nbt-media-item { margin: 0; display: flex; flex-direction: column; align-items: center; gap: 2px; max-width: 100%; contain: layout style; }
.nbtrack-dashboard .nbt-media-frame { position: relative; line-height: 0; cursor: zoom-in; }
.nbtrack-dashboard .nbt-media-grid .nbt-media-frame { contain: strict; }
.nbtrack-dashboard .nbt-media-frame img { display: block; background: #f1f5f9; border-radius: 3px; }
.nbtrack-dashboard .nbt-pixelated { image-rendering: pixelated; }
.nbtrack-dashboard .nbt-media-overlay { position: absolute; left: 0; top: 0; pointer-events: none; }
.nbtrack-dashboard .nbt-media-caption {
  font-size: 11px; color: var(--nbt-muted); max-width: 128px; overflow: hidden;
  text-overflow: ellipsis; white-space: nowrap; text-align: center;
}
.nbtrack-dashboard .nbt-media-grid .nbt-media-caption { height: 15px; line-height: 15px; contain: strict; }
.nbtrack-dashboard .nbt-media-legend { display: flex; flex-direction: column; gap: 2px; margin-bottom: 6px; font-size: 11px; }
.nbtrack-dashboard .nbt-media-legend-set { display: flex; flex-wrap: wrap; gap: 2px 10px; align-items: center; }
.nbtrack-dashboard .nbt-media-legend-name { color: var(--nbt-muted); font-weight: 600; }
.nbtrack-dashboard .nbt-media-legend label { display: inline-flex; align-items: center; gap: 3px; cursor: pointer; }
.nbtrack-dashboard .nbt-media-swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; }
.nbtrack-dashboard .nbt-lightbox {
  position: fixed; inset: 0; z-index: 10000; background: rgba(15, 23, 42, .82);
  display: flex; flex-direction: column; align-items: center; justify-content: center; gap: 8px; cursor: zoom-out;
}
.nbtrack-dashboard .nbt-lightbox-frame { position: relative; line-height: 0; }
.nbtrack-dashboard .nbt-lightbox-frame img { display: block; background: #fff; }
.nbtrack-dashboard .nbt-lightbox-caption { color: #e2e8f0; font-size: 13px; }
.nbtrack-dashboard .nbt-lightbox .nbt-media-full-wait,
.nbtrack-dashboard .nbt-lightbox .nbt-media-full-note {
  color: #fde68a; font-size: 12px; background: rgba(0, 0, 0, .35); padding: 3px 10px; border-radius: 999px;
}
.nbtrack-dashboard .nbt-media-full-note, .nbtrack-dashboard .nbt-media-full-wait { color: var(--nbt-muted); font-size: 11px; }
.nbtrack-dashboard .nbt-media-filter { width: 200px; font-size: 12px; padding: 2px 6px; }
.nbtrack-dashboard .nbt-media-count, .nbtrack-dashboard .nbt-media-more { color: var(--nbt-muted); font-size: 12px; font-variant-numeric: tabular-nums; }
.nbtrack-dashboard .nbt-media-table { max-height: 420px; overflow: auto; border: 1px solid var(--nbt-border); border-radius: 6px; }
.nbtrack-dashboard .nbt-media-table table { border-collapse: collapse; font-size: 12px; width: max-content; min-width: 100%; }
.nbtrack-dashboard .nbt-media-table th {
  position: sticky; top: 0; background: #f1f5f9; text-align: left; padding: 3px 8px;
  cursor: pointer; user-select: none; white-space: nowrap; border-bottom: 1px solid var(--nbt-border);
}
.nbtrack-dashboard .nbt-media-table th[data-sort="asc"]::after { content: " ▲"; font-size: 9px; }
.nbtrack-dashboard .nbt-media-table th[data-sort="desc"]::after { content: " ▼"; font-size: 9px; }
.nbtrack-dashboard .nbt-media-table td { padding: 2px 8px; border-bottom: 1px solid #f1f5f9; vertical-align: middle; }
.nbtrack-dashboard .nbt-media-table td.nbt-num { text-align: right; font-variant-numeric: tabular-nums; }
.nbtrack-dashboard .nbt-media-cell-img { max-width: 64px; max-height: 64px; display: block; cursor: zoom-in; image-rendering: pixelated; }
.nbtrack-dashboard .nbt-media-plot { min-height: 260px; }
.nbtrack-dashboard .nbt-media-players { display: flex; flex-wrap: wrap; gap: 10px; align-items: flex-start; }
.nbtrack-dashboard .nbt-media-player { align-items: flex-start; }
.nbtrack-dashboard .nbt-media-player video { max-width: 480px; background: #000; }
.nbtrack-dashboard .nbt-media-player img { max-width: 480px; image-rendering: pixelated; }
.nbtrack-dashboard .nbt-media-html { width: 100%; min-width: 480px; height: 320px; border: 1px solid var(--nbt-border); border-radius: 4px; background: #fff; }
`;

export function addStyles(): void {
  if (document.getElementById("nbtrack-dashboard-styles")) return;
  const style = document.createElement("style");
  style.id = "nbtrack-dashboard-styles";
  style.textContent = CSS + MEDIA_CSS + OVERVIEW_CSS + COMPARE_CSS + PARALLEL_CSS;
  document.head.append(style);
}
