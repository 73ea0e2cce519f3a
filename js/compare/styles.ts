// The compare view's CSS (the runs table, the hover list, the opened run), added by
// js/styles.ts under the same `.nbtrack-dashboard` scope as the dashboard's.

export const COMPARE_CSS = `
.nbtrack-dashboard.nbtrack-compare { border-left-color: #7c3aed; }
.nbtrack-dashboard .nbt-runs-bar { display: flex; flex-wrap: wrap; gap: 6px 10px; align-items: center; }
.nbtrack-dashboard .nbt-runs-bar input[type=search] {
  font: inherit; font-size: 12px; border: 1px solid var(--nbt-border); border-radius: 5px;
  padding: 3px 7px; background: var(--nbt-card); color: var(--nbt-fg);
}
.nbtrack-dashboard .nbt-search { width: 14em; }
.nbtrack-dashboard .nbt-filter { flex: 1; min-width: 18em; font-family: var(--jp-code-font-family, monospace) !important; }
.nbtrack-dashboard .nbt-filter.nbt-bad { border-color: #f87171 !important; background: #fef2f2 !important; }
.nbtrack-dashboard .nbt-filter-error { color: #b91c1c; font-size: 12px; padding: 3px 2px; white-space: pre-wrap; }
.nbtrack-dashboard .nbt-filter-error:empty { display: none; }
.nbtrack-dashboard .nbt-runs-count { color: var(--nbt-muted); font-size: 12px; }
.nbtrack-dashboard details.nbt-columns, .nbtrack-dashboard details.nbt-pc-axes { position: relative; font-size: 12px; }
.nbtrack-dashboard details.nbt-columns > summary, .nbtrack-dashboard details.nbt-pc-axes > summary {
  cursor: pointer; border: 1px solid var(--nbt-border); border-radius: 5px; padding: 1px 8px; background: var(--nbt-card);
}
.nbtrack-dashboard .nbt-columns-list {
  position: absolute; z-index: 20; right: 0; max-height: 320px; overflow: auto; min-width: 260px;
  background: var(--nbt-card); border: 1px solid var(--nbt-border); border-radius: 6px; padding: 6px 8px;
  box-shadow: 0 4px 16px rgba(15, 23, 42, .12); display: grid; gap: 2px;
}
.nbtrack-dashboard .nbt-columns-list label { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.nbtrack-dashboard .nbt-runs-scroll {
  max-height: 420px; overflow: auto; margin-top: 6px; border: 1px solid var(--nbt-border);
  border-radius: 6px; background: var(--nbt-card);
}
.nbtrack-dashboard table.nbt-runs-table { border-collapse: collapse; width: max-content; min-width: 100%; font-size: 12px; }
.nbtrack-dashboard .nbt-runs-table th {
  position: sticky; top: 0; z-index: 1; background: #f1f5f9; text-align: left; font-weight: 600;
  padding: 4px 8px; cursor: pointer; white-space: nowrap; border-bottom: 1px solid var(--nbt-border);
}
.nbtrack-dashboard .nbt-runs-table th[data-sort="asc"]::after { content: " \\25B2"; font-size: 9px; }
.nbtrack-dashboard .nbt-runs-table th[data-sort="desc"]::after { content: " \\25BC"; font-size: 9px; }
.nbtrack-dashboard .nbt-runs-table td {
  padding: 3px 8px; border-bottom: 1px solid #f1f5f9; white-space: nowrap; max-width: 28ch;
  overflow: hidden; text-overflow: ellipsis;
}
.nbtrack-dashboard .nbt-runs-table td.nbt-num { text-align: right; font-variant-numeric: tabular-nums; }
.nbtrack-dashboard .nbt-runs-table tr.nbt-hl td { background: #eef2ff; }
.nbtrack-dashboard .nbt-runs-table tr[data-selected="false"] td { color: var(--nbt-muted); }
.nbtrack-dashboard .nbt-runs-table tr.nbt-group-row td { background: #f8fafc; font-weight: 600; }
.nbtrack-dashboard .nbt-runs-table .nbt-pick { display: flex; align-items: center; gap: 5px; }
.nbtrack-dashboard .nbt-runs-table .nbt-state { font-size: 10px; padding: 1px 6px; }
.nbtrack-dashboard .nbt-swatch {
  display: inline-block; width: 10px; height: 10px; border-radius: 3px; flex: none; vertical-align: -1px; margin-right: 4px;
}
.nbtrack-dashboard a.nbt-run-name { color: #1d4ed8; text-decoration: none; font-weight: 500; }
.nbtrack-dashboard a.nbt-run-name:hover { text-decoration: underline; }
.nbtrack-dashboard .nbt-chart-host { position: relative; }
.nbtrack-dashboard .nbt-tip {
  position: absolute; z-index: 10; pointer-events: none; min-width: 160px; max-width: 240px;
  background: rgba(255, 255, 255, .96); border: 1px solid var(--nbt-border); border-radius: 6px;
  padding: 4px 6px; font-size: 11px; box-shadow: 0 2px 10px rgba(15, 23, 42, .12);
}
.nbtrack-dashboard .nbt-tip[hidden] { display: none; }
.nbtrack-dashboard .nbt-tip-x { color: var(--nbt-muted); margin-bottom: 2px; }
.nbtrack-dashboard .nbt-tip-row { display: flex; align-items: center; gap: 4px; }
.nbtrack-dashboard .nbt-tip-name { flex: 1; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.nbtrack-dashboard .nbt-tip-value { font-variant-numeric: tabular-nums; font-weight: 600; }
.nbtrack-dashboard .nbt-tip-more { color: var(--nbt-muted); }
.nbtrack-dashboard .nbt-pc-controls { display: flex; gap: 8px; align-items: center; margin: 4px 0; }
.nbtrack-dashboard .nbt-opened[hidden] { display: none; }
.nbtrack-dashboard .nbt-opened { margin-top: 10px; }
.nbtrack-dashboard .nbt-opened-bar { display: flex; align-items: center; gap: 8px; margin-bottom: 4px; }
.nbtrack-dashboard .nbt-opened-title { font-weight: 600; flex: 1; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.nbtrack-dashboard .nbt-opened-dashboard > .nbtrack-dashboard { margin: 0; }
`;
