// Numbers and durations as the header shows them.

/**
 * An integer with a comma every three digits, as `toLocaleString("en-US")` writes it, without
 * Intl: its first call in a page loads locale data (~30 ms, on the way to the first chart).
 * Example: `groupDigits(-1234567)` is "-1,234,567".
 */
export function groupDigits(n: number): string {
  if (!Number.isSafeInteger(n)) return n.toLocaleString("en-US");
  const s = String(Math.abs(n));
  let out = "";
  for (let i = 0; i < s.length; i++) {
    if (i > 0 && (s.length - i) % 3 === 0) out += ",";
    out += s[i];
  }
  return n < 0 ? `-${out}` : out;
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (Number.isInteger(v) && a < 1e9) return groupDigits(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(3);
  return v.toPrecision(4).replace(/(\.\d*?)0+$/, "$1").replace(/\.$/, "");
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "–";
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, "0")}m`;
  if (m > 0) return `${m}m ${String(sec).padStart(2, "0")}s`;
  return `${(Math.round(seconds * 10) / 10).toFixed(1)}s`;
}

export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return "–";
  if (perSecond >= 100) return `${groupDigits(Math.round(perSecond))} steps/s`;
  if (perSecond >= 1) return `${perSecond.toFixed(1)} steps/s`;
  return `${(1 / Math.max(perSecond, 1e-9)).toFixed(1)} s/step`;
}
