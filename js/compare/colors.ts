// A run's colour, the same in the table, every chart and the parallel coordinates: the next
// colour of the palette in the order runs arrive (the order they were created), so the first
// twenty runs of a project never share one, and a run keeps its colour when new runs come.
// `runColor` (a hash of the id) is for what has no order of arrival.

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

/** Colours handed out in order of first asking, each id keeping the one it got. */
export class RunColors {
  private readonly given = new Map<string, string>();

  color(id: string): string {
    let c = this.given.get(id);
    if (!c) {
      c = RUN_PALETTE[this.given.size % RUN_PALETTE.length] as string;
      this.given.set(id, c);
    }
    return c;
  }
}
