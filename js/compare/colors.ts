// A run's colour: stable (a hash of its id, never its position, so a new run does not
// recolour the others), the same in the table, every chart and the parallel coordinates.

export const RUN_PALETTE = [
  "#2563eb", "#ea580c", "#059669", "#dc2626", "#7c3aed", "#ca8a04", "#0891b2", "#db2777",
  "#4f46e5", "#65a30d", "#b45309", "#0d9488", "#be123c", "#9333ea", "#0284c7", "#c2410c",
  "#15803d", "#a21caf", "#475569", "#e11d48",
]; // prettier-ignore

/** FNV-1a over the UTF-16 code units: small, fast, and the same in every browser. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function runColor(id: string): string {
  return RUN_PALETTE[hashString(id) % RUN_PALETTE.length] as string;
}
