"""Helpers shared by the benchmarks in ``bench/``: machine facts, statistics, tables, docs.

Standard library only (psutil when present), so a benchmark's worker subprocess imports
nothing that could skew what it measures.
"""

from __future__ import annotations

import datetime
import os
import platform
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs" / "benchmarks.md"
RESULT_MARK = "BENCH_RESULT "

DOCS_INTRO = """\
# Benchmarks

How nbtrack compares with the tools people would use instead, measured side by side on one
machine in one process tree. Each section below is written by the script named in it, with
the exact command, the machine and the package versions; run the command again to refresh it.
Timings live here, never in the tests.
"""


# -- facts about the machine --------------------------------------------------------------


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_gib() -> float | None:
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return None


def version_of(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def checkout_version() -> str:
    """nbtrack's version in this checkout, with its commit (what the benchmark imports)."""
    text = (REPO / "nbtrack" / "_version.py").read_text(encoding="utf-8")
    m = re.search(r"__version__\s*=\s*[\"']([^\"']+)", text)
    version = m.group(1) if m else "unknown"
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "nbtrack"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return version
    return f"{version} (checkout {sha}{', nbtrack/ modified' if dirty else ''})"


def machine_lines(packages: Sequence[str], load: str | None = None) -> list[str]:
    """Markdown lines naming the CPU, memory, OS, Python and the versions of `packages`."""
    mem = memory_gib()
    cpu = f"{cpu_model()}, {os.cpu_count()} logical cores"
    if mem is not None:
        cpu += f", {mem:.0f} GiB RAM"
    versions = ", ".join(
        f"{p} {checkout_version() if p == 'nbtrack' else version_of(p) or 'not installed'}"
        for p in packages
    )
    return [
        f"- Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {cpu}; {platform.system()} {platform.release()}",
        f"- Load average when the run began: {load or loadavg()} (other work on the machine "
        "inflates the tails)",
        f"- Python {platform.python_version()} ({platform.python_implementation()})",
        f"- Packages: {versions}",
    ]


def loadavg() -> str:
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def command_line() -> str:
    """The command that ran this script, relative to the repository root."""
    exe = Path(sys.executable)
    try:
        shown = str(exe.relative_to(REPO))
    except ValueError:
        shown = "python"
    script = Path(sys.argv[0]).resolve()
    try:
        script_shown = str(script.relative_to(REPO))
    except ValueError:
        script_shown = script.name
    return shlex.join([shown, script_shown, *sys.argv[1:]])


# -- statistics ---------------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The `q`-th percentile (0..100) of already sorted values, linearly interpolated."""
    n = len(sorted_values)
    if n == 0:
        return float("nan")
    pos = (n - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, n - 1)
    frac = pos - lo
    return sorted_values[lo] * (1 - frac) + sorted_values[hi] * frac


def summarize_ns(samples_ns: Iterable[int]) -> dict[str, float]:
    """Median, p95, p99, mean and max of per-call timings given in ns, returned in µs."""
    s = sorted(samples_ns)
    if not s:
        return {"n": 0}
    return {
        "n": len(s),
        "median_us": percentile(s, 50) / 1e3,
        "p95_us": percentile(s, 95) / 1e3,
        "p99_us": percentile(s, 99) / 1e3,
        "mean_us": sum(s) / len(s) / 1e3,
        "max_us": s[-1] / 1e3,
        "total_s": sum(s) / 1e9,
    }


def timer_overhead_ns(rounds: int = 200_000) -> float:
    """Median cost of an empty ``perf_counter_ns()`` pair: included in every timing."""
    pc = time.perf_counter_ns
    out = [0] * rounds
    for i in range(rounds):
        t0 = pc()
        out[i] = pc() - t0
    out.sort()
    return float(out[rounds // 2])


def dir_bytes(path: Path) -> int:
    """Bytes of all regular files under `path` (links not followed)."""
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            p = os.path.join(root, name)
            try:
                st = os.lstat(p)
            except OSError:
                continue
            if not os.path.islink(p):
                total += st.st_size
    return total


# -- output -------------------------------------------------------------------------------


def fmt(value: Any, digits: int = 2) -> str:
    """A number for a table: a few significant figures, '-' when missing."""
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    v = float(value)
    if v != v:
        return "-"
    if v == 0:
        return "0"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.{digits}f}"


def md_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A Markdown table; numbers right-aligned."""
    body = [[c if isinstance(c, str) else fmt(c) for c in r] for r in rows]
    align = ["---"] + ["---:"] * (len(header) - 1)
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(lines)


def write_docs_section(heading: str, tag: str, body: str, path: Path = DOCS) -> None:
    """Put `body` under ``## heading`` in docs/benchmarks.md, replacing what `tag` wrote before.

    Other sections of the file are left as they are; the file is created with an intro when
    it does not exist yet.
    """
    start, end = f"<!-- {tag}:start -->", f"<!-- {tag}:end -->"
    block = f"{start}\n{body.rstrip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else DOCS_INTRO
    if start in text and end in text:
        pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        section = f"## {heading}\n\n{block}\n"
        if f"## {heading}\n" in text:
            # The heading exists without our markers: put the block right under it.
            text = text.replace(f"## {heading}\n", section, 1)
        else:
            text = text.rstrip() + "\n\n" + section
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def worker_env(work: Path, **extra: str) -> dict[str, str]:
    """The environment of a benchmark worker: every tracker writes under `work` and stays off
    the network; `extra` adds or overrides variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "MLFLOW_"))}
    env.update(
        {
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
            "PYTHONDONTWRITEBYTECODE": "1",
            "NBTRACK_DIR": str(work / "nbtrack"),
            "WANDB_MODE": "offline",
            "WANDB_SILENT": "true",
            "WANDB_DIR": str(work / "wandb"),
            "WANDB_CACHE_DIR": str(work / "wandb-cache"),
            "WANDB_CONFIG_DIR": str(work / "wandb-config"),
            "WANDB_DATA_DIR": str(work / "wandb-data"),
            "WANDB_ARTIFACT_DIR": str(work / "wandb-artifacts"),
            "WANDB_DISABLE_CODE": "true",
            "TRACKIO_DIR": str(work / "trackio"),
            "HF_HOME": str(work / "hf"),
            "HF_HUB_OFFLINE": "1",
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "GRADIO_ANALYTICS_ENABLED": "False",
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "1",
            "MPLCONFIGDIR": str(work / "mpl"),
            **extra,
        }
    )
    return env
