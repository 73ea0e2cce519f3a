"""``wandb.plot``: charts of a table, and the classifier charts computed from predictions.

Each function returns a `CustomChart` (W&B's name) that keeps its arguments. When it is
logged, `prepare_plot` checks them and copies the table (or the arrays); the writer then
computes the chart's table (a confusion matrix's counts, the points of PR and ROC curves,
with NumPy) and stores it with the chart's kind and fields, which the pages draw.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from nbtrack.media._base import Media, text
from nbtrack.media._prepare import MediaEntry
from nbtrack.media._table import Table, encode_table, snapshot_table

if TYPE_CHECKING:
    from nbtrack.store.media_files import MediaFiles

PLOT_NAMES = (
    "line",
    "line_series",
    "scatter",
    "bar",
    "histogram",
    "confusion_matrix",
    "roc_curve",
    "pr_curve",
    "plot_table",
)
# W&B's preset Vega specs that `plot_table` can stand for: spec -> (kind, W&B field names).
PRESETS = {
    "wandb/line/v0": ("line", {"x": "x", "y": "y", "series": "stroke"}),
    "wandb/scatter/v0": ("scatter", {"x": "x", "y": "y"}),
    "wandb/bar/v0": ("bar", {"label": "label", "value": "value"}),
    "wandb/histogram/v0": ("histogram", {"value": "value"}),
}
CURVE_POINTS = 1000  # a PR or ROC curve keeps at most this many points a class


class CustomChart(Media):
    """A chart made by a ``plot`` function: its kind, its table and the columns it draws.

    `table` is the chart's table (for the computed charts: None until logged; their inputs
    are in `inputs`).
    """

    kind = "plot"
    _log_type = "plot-table"

    def __init__(
        self,
        plot: str,
        table: Table | None,
        fields: dict[str, Any],
        title: str | None = None,
        inputs: dict[str, Any] | None = None,
    ) -> None:
        self.plot = plot
        self.table = table
        self.fields = fields
        self.title = title
        self.inputs = inputs or {}

    def __repr__(self) -> str:
        return f"<nbtrack.plot.{self.plot} {self.title or ''}>".replace(" >", ">")


class PlotNamespace:
    """``nbtrack.plot`` (W&B's ``wandb.plot``): the chart builders.

    >>> run.log({"loss_chart": nbtrack.plot.line(table, "epoch", "loss", title="Loss")})
    >>> run.log({"cm": nbtrack.plot.confusion_matrix(y_true=y, preds=p, class_names=names)})
    """

    @staticmethod
    def line(
        table: Table, x: str, y: str, stroke: str | None = None, title: str | None = None,
        split_table: bool = False,
    ) -> CustomChart:  # fmt: skip
        """Lines of column `y` over column `x`, one a value of column `stroke`."""
        return CustomChart("line", table, {"x": x, "y": y, "series": stroke}, title)

    @staticmethod
    def scatter(
        table: Table, x: str, y: str, title: str | None = None, split_table: bool = False
    ) -> CustomChart:
        """Points of columns `x`, `y`."""
        return CustomChart("scatter", table, {"x": x, "y": y, "series": None}, title)

    @staticmethod
    def bar(
        table: Table, label: str, value: str, title: str | None = None, split_table: bool = False
    ) -> CustomChart:
        """A bar of height `value` per row, named by column `label`."""
        return CustomChart("bar", table, {"label": label, "value": value}, title)

    @staticmethod
    def histogram(
        table: Table, value: str, title: str | None = None, split_table: bool = False
    ) -> CustomChart:
        """A histogram of column `value` (binned by the page)."""
        return CustomChart("histogram", table, {"value": value}, title)

    @staticmethod
    def line_series(
        xs: Sequence[Any], ys: Sequence[Sequence[Any]], keys: Sequence[str] | None = None,
        title: str | None = None, xname: str | None = None, split_table: bool = False,
    ) -> CustomChart:  # fmt: skip
        """Several lines: `ys` a list of series over `xs` (shared, or one list a series)."""
        fields = {"x": "step", "y": "value", "series": "series"}
        inputs = {"xs": xs, "ys": ys, "keys": keys, "xname": xname}
        return CustomChart("line_series", None, fields, title, inputs)

    @staticmethod
    def confusion_matrix(
        probs: Any = None, y_true: Any = None, preds: Any = None,
        class_names: Sequence[str] | None = None, title: str | None = None,
        split_table: bool = False,
    ) -> CustomChart:  # fmt: skip
        """Counts of (actual, predicted) class pairs, from `preds` or from `probs` (argmax)."""
        fields = {"actual": "Actual", "predicted": "Predicted", "count": "nPredictions"}
        inputs = {"probs": probs, "y_true": y_true, "preds": preds, "class_names": class_names}
        return CustomChart("confusion_matrix", None, fields, title, inputs)

    @staticmethod
    def pr_curve(
        y_true: Any, y_probas: Any, labels: Sequence[str] | None = None,
        classes_to_plot: Sequence[Any] | None = None, title: str | None = None,
        interp_size: int = 21, split_table: bool = False,
    ) -> CustomChart:  # fmt: skip
        """Precision over recall, a curve a class (one vs the rest)."""
        fields = {"x": "recall", "y": "precision", "series": "class"}
        inputs = {"y_true": y_true, "y_probas": y_probas, "labels": labels,
                  "classes_to_plot": classes_to_plot}  # fmt: skip
        return CustomChart("pr_curve", None, fields, title, inputs)

    @staticmethod
    def roc_curve(
        y_true: Any, y_probas: Any, labels: Sequence[str] | None = None,
        classes_to_plot: Sequence[Any] | None = None, title: str | None = None,
        split_table: bool = False,
    ) -> CustomChart:  # fmt: skip
        """True-positive rate over false-positive rate, a curve a class."""
        fields = {"x": "fpr", "y": "tpr", "series": "class"}
        inputs = {"y_true": y_true, "y_probas": y_probas, "labels": labels,
                  "classes_to_plot": classes_to_plot}  # fmt: skip
        return CustomChart("roc_curve", None, fields, title, inputs)

    @staticmethod
    def plot_table(
        vega_spec_name: str, data_table: Table, fields: Mapping[str, str],
        string_fields: Mapping[str, Any] | None = None, split_table: bool = False,
    ) -> CustomChart:  # fmt: skip
        """A chart of W&B's preset specs (``wandb/line/v0``, scatter, bar, histogram); other
        Vega specs can be built but not logged."""
        title = (string_fields or {}).get("title")
        preset = PRESETS.get(vega_spec_name)
        if preset is None:
            return CustomChart(
                "plot_table", data_table, dict(fields), title, {"spec": vega_spec_name}
            )
        kind, names = preset
        mapped: dict[str, Any] = {ours: fields.get(theirs) for ours, theirs in names.items()}
        return CustomChart(kind, data_table, mapped, title)

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"nbtrack.plot has no chart {name!r}; W&B's: {', '.join(PLOT_NAMES)}")

    def __dir__(self) -> list[str]:
        return list(PLOT_NAMES)


plot = PlotNamespace()


# -- prepare ----------------------------------------------------------------------------------


def prepare_plot(key: str, chart: CustomChart) -> MediaEntry:
    """Check a chart and copy its table or inputs; the writer computes and stores it."""
    kind, fields, title = chart.plot, dict(chart.fields), chart.title
    title = text(key, "title", title)
    if kind == "plot_table":
        raise TypeError(
            f"nbtrack.log: key {key!r} is a custom chart of the Vega spec "
            f"{chart.inputs.get('spec')!r}, which nbtrack does not draw; it draws W&B's "
            f"presets ({', '.join(PRESETS)}) and the other nbtrack.plot charts"
        )
    if kind in ("line", "scatter", "bar", "histogram"):
        if not isinstance(chart.table, Table):
            raise TypeError(
                f"nbtrack.log: key {key!r} is a plot.{kind} of a {type(chart.table).__name__}; "
                "it needs an nbtrack.Table"
            )
        columns, rows, nbytes = snapshot_table(key, chart.table)
        for field, col in fields.items():
            if col is None and field == "series":
                continue
            if col not in columns:
                raise ValueError(
                    f"nbtrack.log: key {key!r} is a plot.{kind} whose {field} column {col!r} is "
                    f"not in its table (columns: {', '.join(columns)})"
                )
        if kind == "histogram":
            at = columns.index(fields["value"])
            odd = next(
                (r[at] for r in rows if r[at] is not None and type(r[at]) not in (int, float)), None
            )
            if odd is not None:
                raise TypeError(
                    f"nbtrack.log: key {key!r} is a plot.histogram of column {fields['value']!r}, "
                    f"which holds a {type(odd).__name__} ({odd!r:.40}); a histogram bins numbers"
                )

        def encode(files: MediaFiles) -> dict[str, Any]:
            table = encode_table(key, files, columns, rows)
            return {"plot": kind, "title": title, "fields": fields, "table": table}

        return MediaEntry(key, "plot", nbytes, encode)
    compute = {
        "line_series": _line_series,
        "confusion_matrix": _confusion,
        "pr_curve": _curves,
        "roc_curve": _curves,
    }[kind]
    build, nbytes = compute(key, kind, chart.inputs)

    def encode_computed(files: MediaFiles) -> dict[str, Any]:
        columns, rows, extra = build()
        table = encode_table(key, files, columns, rows)
        return {"plot": kind, "title": title, "fields": fields, "table": table, **extra}

    return MediaEntry(key, "plot", nbytes, encode_computed)


Built = Any  # a function () -> (columns, rows, extra top-level payload fields)


def _array(key: str, what: str, value: Any, ndim: tuple[int, ...], float_: bool = True) -> Any:
    """`value` as a NumPy copy of one of the `ndim`s; a ValueError naming key and argument."""
    import sys

    import numpy as np

    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    try:
        a = np.array(value, dtype=np.float64 if float_ else None)
    except (TypeError, ValueError) as e:
        raise ValueError(f"nbtrack.log: key {key!r} {what} must be numbers ({e})") from None
    if a.ndim not in ndim:
        raise ValueError(
            f"nbtrack.log: key {key!r} {what} has shape {a.shape}; it must be "
            f"{' or '.join(f'{n}-d' for n in ndim)}"
        )
    return a


def _line_series(key: str, kind: str, inputs: dict[str, Any]) -> tuple[Built, int]:
    import numpy as np

    ys_in, xs_in, keys = inputs["ys"], inputs["xs"], inputs["keys"]
    if not isinstance(ys_in, (list, tuple)) and getattr(ys_in, "ndim", 2) != 2:
        raise ValueError(f"nbtrack.log: key {key!r} line_series ys must be a list of series")
    ys = [_array(key, f"line_series ys[{i}]", y, (1,)) for i, y in enumerate(ys_in)]
    shared = not ys or np.ndim(xs_in[0] if len(xs_in) else 0) == 0
    xs = (
        [_array(key, "line_series xs", xs_in, (1,))] * len(ys)
        if shared
        else [_array(key, f"line_series xs[{i}]", x, (1,)) for i, x in enumerate(xs_in)]
    )
    if len(xs) != len(ys):
        raise ValueError(
            f"nbtrack.log: key {key!r} line_series has {len(xs)} xs lists for {len(ys)} ys"
        )
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        if len(x) != len(y):
            raise ValueError(
                f"nbtrack.log: key {key!r} line_series series {i} has {len(y)} values for "
                f"{len(x)} xs"
            )
    names = [str(k) for k in keys] if keys is not None else [f"key_{i}" for i in range(len(ys))]
    if len(names) != len(ys):
        raise ValueError(
            f"nbtrack.log: key {key!r} line_series has {len(names)} keys for {len(ys)} series"
        )

    def build() -> tuple[list[str], list[list[Any]], dict[str, Any]]:
        rows = [
            [xv, yv, name]
            for x, y, name in zip(xs, ys, names, strict=True)
            for xv, yv in zip(x.tolist(), y.tolist(), strict=True)
        ]
        return ["step", "value", "series"], rows, {}

    return build, sum(y.nbytes * 2 for y in ys)


def _class_ids(key: str, what: str, values: Any, names: Sequence[str] | None) -> Any:
    """Class labels as int ids: ints as they are, or names looked up in `names`."""
    import numpy as np

    a = np.asarray(values.detach().cpu().numpy() if hasattr(values, "detach") else values)
    if a.ndim != 1:
        raise ValueError(f"nbtrack.log: key {key!r} {what} has shape {a.shape}; it must be 1-d")
    if a.dtype.kind in "US" and names is not None:
        index = {str(n): i for i, n in enumerate(names)}
        missing = sorted({str(v) for v in a.tolist()} - set(index))
        if missing:
            raise ValueError(
                f"nbtrack.log: key {key!r} {what} holds {missing[0]!r}, not a class name"
            )
        return np.array([index[str(v)] for v in a.tolist()], dtype=np.int64)
    if a.dtype.kind not in "biu" and not (a.dtype.kind == "f" and np.all(a == np.rint(a))):
        raise ValueError(f"nbtrack.log: key {key!r} {what} must be int class ids")
    return a.astype(np.int64)


def _confusion(key: str, kind: str, inputs: dict[str, Any]) -> tuple[Built, int]:
    import numpy as np

    probs, y_true, preds, names = (inputs[k] for k in ("probs", "y_true", "preds", "class_names"))
    if y_true is None:
        raise ValueError(f"nbtrack.log: key {key!r} confusion_matrix needs y_true")
    if (probs is None) == (preds is None):
        raise ValueError(
            f"nbtrack.log: key {key!r} confusion_matrix takes one of probs= and preds=, "
            f"not {'both' if probs is not None else 'neither'}"
        )
    actual = _class_ids(key, "confusion_matrix y_true", y_true, names)
    if probs is not None:
        p = _array(key, "confusion_matrix probs", probs, (2,))
        predicted = p.argmax(axis=1) if p.size else np.zeros(0, np.int64)
    else:
        predicted = _class_ids(key, "confusion_matrix preds", preds, names)
    if len(actual) != len(predicted):
        raise ValueError(
            f"nbtrack.log: key {key!r} confusion_matrix has {len(actual)} y_true for "
            f"{len(predicted)} predictions"
        )
    top = int(max(actual.max(initial=-1), predicted.max(initial=-1))) + 1
    n = len(names) if names is not None else top
    if actual.min(initial=0) < 0 or predicted.min(initial=0) < 0 or top > n:
        raise ValueError(
            f"nbtrack.log: key {key!r} confusion_matrix has class ids outside 0..{n - 1} "
            f"({n} class names)"
        )
    classes = [str(c) for c in names] if names is not None else [f"Class_{i + 1}" for i in range(n)]

    def build() -> tuple[list[str], list[list[Any]], dict[str, Any]]:
        counts = np.bincount(actual * n + predicted, minlength=n * n).reshape(n, n)
        rows = [[classes[a], classes[p], int(counts[a, p])] for a in range(n) for p in range(n)]
        return ["Actual", "Predicted", "nPredictions"], rows, {"classes": classes}

    return build, actual.nbytes + predicted.nbytes


def _curves(key: str, kind: str, inputs: dict[str, Any]) -> tuple[Built, int]:
    import numpy as np

    name = kind
    y = _class_ids(key, f"{name} y_true", inputs["y_true"], None)
    probas = _array(key, f"{name} y_probas", inputs["y_probas"], (1, 2))
    if probas.ndim == 1:  # the probability of class 1 of two
        probas = np.stack([1 - probas, probas], axis=1)
    if len(probas) != len(y):
        raise ValueError(
            f"nbtrack.log: key {key!r} {name} has {len(y)} y_true for {len(probas)} rows of "
            "y_probas"
        )
    if not np.isfinite(probas).all():
        raise ValueError(f"nbtrack.log: key {key!r} {name} y_probas holds NaN or inf")
    k = probas.shape[1]
    present = np.unique(y)
    if len(present) and (present.min() < 0 or present.max() >= k):
        raise ValueError(
            f"nbtrack.log: key {key!r} {name} y_true holds class ids outside 0..{k - 1}, the "
            "columns of y_probas"
        )
    wanted = present if inputs["classes_to_plot"] is None else np.asarray(inputs["classes_to_plot"])
    labels = inputs["labels"]

    def build() -> tuple[list[str], list[list[Any]], dict[str, Any]]:
        rows: list[list[Any]] = []
        for c in (int(c) for c in wanted if int(c) in set(present.tolist())):
            label = str(labels[c]) if labels is not None and c < len(labels) else str(c)
            xs, ys = curve(kind, y == c, probas[:, c])
            if xs is None:
                continue  # a class with no negatives has no ROC curve
            rows.extend([label, xv, yv] for xv, yv in zip(xs.tolist(), ys.tolist(), strict=True))
        x_name, y_name = ("recall", "precision") if kind == "pr_curve" else ("fpr", "tpr")
        return ["class", x_name, y_name], rows, {}

    return build, probas.nbytes + y.nbytes


def curve(kind: str, positive: Any, scores: Any) -> tuple[Any, Any]:
    """(recall, precision) or (fpr, tpr) of one class at each distinct score threshold,
    from the highest threshold down (recall, fpr and tpr never decrease along it), starting
    at recall 0 / precision 1 and fpr = tpr = 0; at most CURVE_POINTS points."""
    import numpy as np

    order = np.argsort(-scores, kind="stable")
    s = scores[order]
    hit = positive[order]
    tps = np.cumsum(hit)
    fps = np.cumsum(~hit)
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # the end of each run of equal scores
    tp, fp = tps[last].astype(np.float64), fps[last].astype(np.float64)
    p, n = float(tps[-1]), float(fps[-1])
    if kind == "pr_curve":
        xs = np.r_[0.0, tp / p]
        ys = np.r_[1.0, tp / (tp + fp)]
    else:
        if n == 0:
            return None, None
        xs = np.r_[0.0, fp / n]
        ys = np.r_[0.0, tp / p]
    if len(xs) > CURVE_POINTS:
        keep = np.unique(np.linspace(0, len(xs) - 1, CURVE_POINTS).round().astype(np.int64))
        xs, ys = xs[keep], ys[keep]
    return xs, ys
