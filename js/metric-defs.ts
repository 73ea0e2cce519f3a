// How a run's metric definitions (`define_metric`, sent in the header: protocol.ts) apply
// to its keys, by W&B's rules:
//
// - a key defined by its exact name takes that definition, and no glob's;
// - otherwise the longest glob that matches it (as the run's summary picks it,
//   nbtrack/_metrics.py: "val/*" before "*" whatever their order): a glob is a name ending
//   in `*`, and matches every key that starts with what comes before the `*` ("val/*"
//   matches "val/loss" and "val/top1/acc"; "*" every key); a key starting with "_" (W&B's
//   own, such as "_time") matches none;
// - a name defined twice merges (W&B's default, `overwrite=None`): the later step metric
//   replaces the earlier one, and a metric once hidden stays hidden.
//
// DOM-free: the dashboard asks it which key each chart is drawn against and which charts
// are left out.

import type { MetricDefinition } from "./protocol";

export class MetricRules {
  private readonly exact = new Map<string, MetricDefinition>();
  /** Globs by their prefix (the name without its `*`). */
  private readonly globs = new Map<string, MetricDefinition>();
  /** The definitions as text, to tell whether a new header changed them. */
  readonly signature: string;

  constructor(defs: readonly MetricDefinition[] = []) {
    for (const d of defs) {
      const glob = d.name.endsWith("*");
      const into = glob ? this.globs : this.exact;
      const key = glob ? d.name.slice(0, -1) : d.name;
      const had = into.get(key);
      into.set(key, {
        name: d.name,
        step_metric: d.step_metric ?? had?.step_metric ?? null,
        hidden: d.hidden || (had?.hidden ?? false),
      });
    }
    this.signature = JSON.stringify(defs.map((d) => [d.name, d.step_metric, d.hidden]));
  }

  /** The definition that applies to `key`, or null when none does. */
  of(key: string): MetricDefinition | null {
    const own = this.exact.get(key);
    if (own) return own;
    if (key.startsWith("_")) return null;
    let best: string | null = null;
    for (const prefix of this.globs.keys()) {
      if (key.startsWith(prefix) && (best === null || prefix.length > best.length)) best = prefix;
    }
    return best === null ? null : (this.globs.get(best) ?? null);
  }

  /**
   * The key `key`'s chart is drawn against, or null for the step: its definition's step
   * metric, unless that is the key itself (`define_metric("*", step_metric="epoch")` also
   * matches "epoch", which is then drawn against the step).
   *
   * Example: with `[{name: "epoch"}, {name: "val/*", step_metric: "epoch"}]`,
   * `stepMetric("val/loss")` is "epoch" and `stepMetric("epoch")` null.
   */
  stepMetric(key: string): string | null {
    const s = this.of(key)?.step_metric ?? null;
    return s === key ? null : s;
  }

  /** `define_metric(key, hidden=True)`: the key gets no chart. */
  hidden(key: string): boolean {
    return this.of(key)?.hidden ?? false;
  }

  /** True when some definition names a step metric (the x-axis control then offers them). */
  hasStepMetrics(): boolean {
    for (const d of [...this.exact.values(), ...this.globs.values()]) if (d.step_metric) return true;
    return false;
  }
}
