// Exponential moving average with TensorBoard's debiasing: early points are not pulled
// toward zero, because each is divided by the weight the average has accumulated so far.
// Non-finite values pass through (drawn as gaps) and do not disturb the average.

export class Ema {
  out: Float64Array = new Float64Array(0);
  length = 0;
  private last = 0;
  private count = 0;

  constructor(readonly weight: number) {}

  /** Extend the smoothed series to cover `values[0 .. n)`; only new points are computed. */
  update(values: ArrayLike<number>, n: number): Float64Array {
    if (n < this.length) this.reset();
    if (n > this.out.length) {
      const grown = new Float64Array(Math.max(n, this.out.length * 2, 256));
      grown.set(this.out.subarray(0, this.length));
      this.out = grown;
    }
    const w = this.weight;
    for (let i = this.length; i < n; i++) {
      const v = values[i] as number;
      if (!Number.isFinite(v)) {
        this.out[i] = v;
        continue;
      }
      this.last = this.last * w + (1 - w) * v;
      this.count++;
      const debias = w === 1 ? 1 : 1 - Math.pow(w, this.count);
      this.out[i] = this.last / debias;
    }
    this.length = n;
    return this.out.subarray(0, n);
  }

  private reset(): void {
    this.length = 0;
    this.last = 0;
    this.count = 0;
  }
}

/** Smooth a whole array at once (for tests and one-off use). */
export function smooth(values: ArrayLike<number>, weight: number): Float64Array {
  return new Ema(weight).update(values, values.length).slice();
}
