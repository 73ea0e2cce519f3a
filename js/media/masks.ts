// Mask class ids by file name, decoded once (png.ts) from the bytes the store has or gets:
// a slider move back to a step draws its masks with no decode.

import type { ClassIds } from "./png";
import { decodeClassIds } from "./png";
import type { MediaStore } from "./store";

export class MaskIds {
  private readonly done = new Map<string, ClassIds | null>();
  private readonly waiting = new Map<string, Promise<ClassIds | null>>();

  constructor(private readonly store: MediaStore) {}

  /** The ids when decoded; null while they are not (then `whenReady` says when). */
  get(name: string): ClassIds | null {
    return this.done.get(name) ?? null;
  }

  /** Decode `name` (loading its bytes if need be); resolves to null when it cannot. */
  whenReady(name: string): Promise<ClassIds | null> {
    if (this.done.has(name)) return Promise.resolve(this.done.get(name) ?? null);
    let p = this.waiting.get(name);
    if (!p) {
      p = this.store
        .load(name)
        .then(decodeClassIds)
        .catch((err: unknown) => {
          console.warn(`nbtrack: mask ${name} could not be read:`, err);
          return null;
        })
        .then((ids) => {
          this.done.set(name, ids);
          this.waiting.delete(name);
          return ids;
        });
      this.waiting.set(name, p);
    }
    return p;
  }

  /** Decoded already, or failed already: no need to wait. */
  settled(name: string): boolean {
    return this.done.has(name);
  }
}
