"""The cases both writers of the HTML export reduce alike: long series (`reduce_series`) and
histogram steps (`thin_histograms`) of nbtrack/export.py, and what they keep of each.

``tests/fixtures/export/cases.json`` holds them; ``tests/test_export.py`` checks that Python
keeps what the file says, ``js/export.test.ts`` that the Export button's writer
(``js/export.ts``) does too. Write the file again with ``python -m tests.export_fixtures``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from nbtrack._values import HistogramEntry
from nbtrack.export import reduce_series, thin_histograms
from nbtrack.widget._protocol import json_number

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "export" / "cases.json"


# Small sizes, so the file stays small: the rule is the same at the real WHOLE_POINTS and BUCKETS.
WHOLE = 300
BUCKETS = 40


def _series_cases() -> list[tuple[str, np.ndarray[Any, Any], np.ndarray[Any, Any]]]:
    rng = np.random.default_rng(7)
    cases = []
    s = np.arange(1000)
    v = np.sin(s / 40) + 0.1 * rng.standard_normal(1000)
    v[432] = 25.0  # a spike
    cases.append(("noisy sine with a spike", s, v))
    s = np.concatenate([np.arange(0, 400), np.arange(350, 750)])  # resumed: steps again
    cases.append(("repeated steps (the last value wins)", s, rng.standard_normal(len(s))))
    s = np.arange(800)
    v = np.cos(s / 30)
    v[100:103] = np.nan
    v[500] = np.inf
    v[700:730] = np.nan  # buckets of nothing finite
    cases.append(("gaps: NaN and inf", s, v))
    s = np.arange(0, 7 * 501, 7) - 300
    cases.append(("sparse steps, below zero", s, -np.abs(rng.standard_normal(len(s)))))
    s = np.arange(0, 2**40, 2**40 // 997)
    cases.append(("wide steps", s, rng.standard_normal(len(s))))
    s = np.arange(300)
    cases.append(("short: whole", s, rng.standard_normal(300)))
    return cases


def _hist_case() -> list[HistogramEntry]:
    out = []
    for key, n, every in (("w", 120, 10), ("b", 30, 40), ("g", 600, 1)):
        out += [HistogramEntry(key, i * every, 0.0, 1.0, np.ones(2)) for i in range(n)]
    # Interleaved, as watch logs them: a step of every key at a time.
    return sorted(out, key=lambda e: (e.step, e.key))


def cases() -> dict[str, Any]:
    series = []
    for name, steps, raw in _series_cases():
        values = np.round(raw, 3)  # short numbers: a small file
        ks, kv = reduce_series(steps, values, whole=WHOLE, buckets=BUCKETS)
        series.append(
            {
                "name": name,
                "whole": WHOLE,
                "buckets": BUCKETS,
                "steps": steps.tolist(),
                "values": [json_number(x) for x in values],
                "kept_steps": ks.tolist(),
                "kept_values": [json_number(x) for x in kv],
            }
        )
    entries = _hist_case()
    kept = thin_histograms(entries)
    ids = {id(e): i for i, e in enumerate(entries)}
    many = [HistogramEntry(f"k{i}", s, 0.0, 1.0, np.ones(1)) for s in range(20) for i in range(80)]
    kept_many = thin_histograms(many)
    many_ids = {id(e): i for i, e in enumerate(many)}
    return {
        "series": series,
        "histograms": [
            {
                "entries": [[e.key, e.step] for e in entries],
                "kept": [ids[id(e)] for e in kept],
            },
            {
                "entries": [[e.key, e.step] for e in many],
                "kept": [many_ids[id(e)] for e in kept_many],
            },
        ],
    }


if __name__ == "__main__":
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    FIXTURE.write_text(json.dumps(cases(), separators=(",", ":")) + "\n")
    print(f"wrote {FIXTURE}")
