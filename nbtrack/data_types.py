"""W&B's data types: `Histogram`, stored as a histogram series; the media types, named only.

>>> run.log({"grads": nbtrack.Histogram(grads)})                  # from values
>>> run.log({"w": nbtrack.Histogram(np_histogram=np.histogram(w))})  # from NumPy's result

A logged `Histogram` lands in the store's histogram rows under its key at the row's step,
as `watch` stores its histograms, and the dashboards draw it as they draw those.

`Image`, `Table`, `Video`, `Audio`, `Html`, `Object3D`, `Molecule` and the `plot` charts
can be built as in W&B (a script that makes them runs on), but logging one raises a
`TypeError` saying media is not supported yet: the media issue brings them. `Table`
keeps its columns and rows (`add_data`, `add_column`, `get_column`), since some scripts
read them back themselves.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nbtrack._values import HistogramEntry

MEDIA_NOT_SUPPORTED = (
    "nbtrack.log: {kind} (under key {key!r}) is media, which nbtrack does not store yet: "
    "log numbers and nbtrack.Histogram for now (rich media comes with a later release)"
)


class WBValue:
    """Base of the W&B data types (W&B's ``wandb.sdk.data_types.base_types.WBValue``)."""

    _log_type = "wbvalue"

    def _entry(self, key: str, step: int) -> HistogramEntry:
        """What `log()` stores for this value under `key`; media: a TypeError, for now."""
        raise TypeError(MEDIA_NOT_SUPPORTED.format(kind=f"wandb.{type(self).__name__}", key=key))


class Histogram(WBValue):
    """A histogram, as W&B's ``wandb.Histogram``: from a sequence of numbers (binned here,
    `num_bins` equal bins, 512 at most) or from NumPy's ``(counts, bin_edges)``.

    >>> h = nbtrack.Histogram([0.1, 0.2, 0.2, 0.9], num_bins=4)
    >>> h.histogram, h.bins
    ([1, 2, 0, 1], [0.1, 0.3, 0.5, 0.7, 0.9])

    NaN and infinite values are left out of the bins (and counted in the stored stats), as
    `watch` does; a sequence that is not numbers is a TypeError.
    """

    MAX_LENGTH = 512
    _log_type = "histogram"

    def __init__(
        self,
        sequence: Sequence[Any] | Any | None = None,
        np_histogram: tuple[Any, Any] | None = None,
        num_bins: int = 64,
    ) -> None:
        import numpy as np

        self._nan = 0
        self._inf = 0
        if np_histogram is not None:
            if not isinstance(np_histogram, (tuple, list)) or len(np_histogram) != 2:
                raise ValueError(
                    "nbtrack.Histogram: np_histogram must be (values, bin_edges), as "
                    "numpy.histogram returns"
                )
            counts, edges = np_histogram
            self.histogram: list[Any] = list(np.asarray(counts).tolist())
            self.bins: list[float] = [float(b) for b in np.asarray(edges).tolist()]
        elif sequence is None:
            raise ValueError("nbtrack.Histogram: give a sequence of numbers or np_histogram=")
        else:
            if isinstance(num_bins, bool) or not isinstance(num_bins, int) or num_bins < 1:
                raise ValueError(
                    f"nbtrack.Histogram: num_bins must be an int >= 1, not {num_bins!r}"
                )
            values = _as_floats(sequence)
            finite = values[np.isfinite(values)]
            self._nan = int(np.isnan(values).sum())
            self._inf = int(len(values) - len(finite) - self._nan)
            counts, edges = np.histogram(finite, bins=min(num_bins, self.MAX_LENGTH))
            self.histogram = counts.tolist()
            self.bins = edges.tolist()
        if len(self.histogram) > self.MAX_LENGTH:
            raise ValueError(
                f"nbtrack.Histogram: the maximum length of a histogram is {self.MAX_LENGTH}"
            )
        if len(self.histogram) + 1 != len(self.bins):
            raise ValueError("nbtrack.Histogram: len(bins) must be len(histogram) + 1")

    def to_json(self, run: Any = None) -> dict[str, Any]:
        """W&B's JSON form: ``{"_type": "histogram", "values": [...], "bins": [...]}``."""
        del run
        return {"_type": self._log_type, "values": self.histogram, "bins": self.bins}

    def _entry(self, key: str, step: int) -> HistogramEntry:
        import numpy as np

        from nbtrack._values import HistogramEntry

        edges = np.asarray(self.bins, dtype=np.float64)
        if len(edges) > 2 and not np.allclose(np.diff(edges), edges[1] - edges[0], rtol=1e-6):
            from nbtrack._compat import unsupported

            unsupported(
                "wandb.Histogram with unequal bins",
                "the store keeps equal bins between the first and last edge, so the counts "
                "are drawn over equal bins",
            )
        counts = np.asarray(self.histogram, dtype=np.float64)
        finite = counts[np.isfinite(counts)]
        if len(finite) and not np.array_equal(finite, np.rint(finite)) and finite.sum() > 0:
            # Densities (np.histogram(..., density=True)): the store keeps whole counts, so
            # they are scaled to a total of a million, which keeps their shape exactly enough
            # to draw, rather than rounded to nothing.
            from nbtrack._compat import unsupported

            unsupported(
                "wandb.Histogram with fractional counts",
                "they are stored scaled to a total of 1,000,000 (the drawn shape is the same)",
            )
            counts = np.where(np.isfinite(counts), counts, 0.0) * (1e6 / finite.sum())
        return HistogramEntry(
            key,
            step,
            float(edges[0]),
            float(edges[-1]),
            np.rint(counts).astype(np.int64),
            {"nan": self._nan, "inf": self._inf},
        )

    def __repr__(self) -> str:
        return f"Histogram(bins={len(self.histogram)})"


def rebin(counts: Any, bins: int) -> Any:
    """`counts` over equal bins, spread over `bins` equal bins of the same range (each old
    bin's count shared in proportion to its overlap; the total kept exactly)."""
    import numpy as np

    old = np.asarray(counts, dtype=np.float64)
    n = len(old)
    edges_old = np.linspace(0.0, 1.0, n + 1)
    edges_new = np.linspace(0.0, 1.0, bins + 1)
    out = np.zeros(bins)
    for i in range(n):
        lo, hi = edges_old[i], edges_old[i + 1]
        overlap = np.clip(np.minimum(edges_new[1:], hi) - np.maximum(edges_new[:-1], lo), 0, None)
        out += old[i] * overlap / (hi - lo)
    whole = np.floor(out).astype(np.int64)
    short = round(float(old.sum())) - int(whole.sum())
    if short > 0:  # largest remainders first, so the counts still add up
        whole[np.argsort(-(out - whole), kind="stable")[:short]] += 1
    return whole


def _as_floats(sequence: Any) -> Any:
    import numpy as np

    if hasattr(sequence, "detach") and hasattr(sequence, "cpu"):  # a torch tensor, any device
        sequence = sequence.detach().cpu().double().numpy()
    try:
        values = np.asarray(sequence, dtype=np.float64).ravel()
    except (TypeError, ValueError) as e:
        raise TypeError(
            f"nbtrack.Histogram: the sequence must hold numbers only ({e}); got "
            f"{type(sequence).__name__}"
        ) from None
    return values


class _Media(WBValue):
    """A W&B media object: built and kept as given, refused by `log()` for now."""

    _log_type = "media"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._args = args
        self._kwargs = kwargs

    def __repr__(self) -> str:
        return f"<nbtrack.{type(self).__name__} (media: not stored yet)>"


class Image(_Media):
    """W&B's ``wandb.Image(data_or_path, mode=None, caption=None, ...)``: not stored yet."""

    _log_type = "image-file"


class Video(_Media):
    """W&B's ``wandb.Video(data_or_path, caption=None, fps=None, ...)``: not stored yet."""

    _log_type = "video-file"


class Audio(_Media):
    """W&B's ``wandb.Audio(data_or_path, sample_rate=None, caption=None)``: not stored yet."""

    _log_type = "audio-file"


class Html(_Media):
    """W&B's ``wandb.Html(data, inject=True)``: not stored yet."""

    _log_type = "html-file"


class Object3D(_Media):
    """W&B's ``wandb.Object3D(data_or_path, ...)``: not stored yet."""

    _log_type = "object3D-file"


class Molecule(_Media):
    """W&B's ``wandb.Molecule(data_or_path, ...)``: not stored yet."""

    _log_type = "molecule-file"


class Table(_Media):
    """W&B's ``wandb.Table``: columns and rows, kept (not stored with the run yet).

    >>> t = nbtrack.Table(columns=["epoch", "loss"])
    >>> t.add_data(0, 0.9)
    >>> t.get_column("loss")
    [0.9]
    """

    _log_type = "table"

    def __init__(
        self,
        columns: Sequence[str] | None = None,
        data: Sequence[Sequence[Any]] | None = None,
        rows: Sequence[Sequence[Any]] | None = None,
        dataframe: Any = None,
        dtype: Any = None,
        optional: Any = True,
        allow_mixed_types: bool = False,
        log_mode: str | None = None,
    ) -> None:
        super().__init__()
        del dtype, optional, allow_mixed_types, log_mode
        if dataframe is not None:
            columns = [str(c) for c in dataframe.columns]
            data = dataframe.values.tolist()
        data = data if data is not None else rows
        if data is not None and not isinstance(data, (list, tuple)):
            tolist = getattr(data, "tolist", None)  # a NumPy array of rows
            data = tolist() if tolist is not None else list(data)
        rows_list = [list(r) for r in (data or [])]
        if columns is None:
            width = len(rows_list[0]) if rows_list else 2
            columns = (
                [f"Column_{i + 1}" for i in range(width)]
                if rows_list
                else ["Input", "Output", "Expected"]
            )
        self.columns: list[str] = list(columns)
        self.data: list[list[Any]] = []
        for row in rows_list:
            self.add_data(*row)

    def add_data(self, *data: Any) -> None:
        """Add one row, a value per column."""
        if len(data) != len(self.columns):
            raise ValueError(
                f"nbtrack.Table.add_data: this table has {len(self.columns)} columns "
                f"({', '.join(self.columns)}), got {len(data)} values"
            )
        self.data.append(list(data))

    def add_column(self, name: str, data: Sequence[Any], optional: bool = False) -> None:
        """Add a column, a value per existing row."""
        del optional
        if name in self.columns:
            raise ValueError(f"nbtrack.Table.add_column: the table has a column {name!r} already")
        values = list(data)
        if self.data and len(values) != len(self.data):
            raise ValueError(
                f"nbtrack.Table.add_column: column {name!r} has {len(values)} values for "
                f"{len(self.data)} rows"
            )
        if not self.data:
            self.data = [[] for _ in values]
        self.columns.append(name)
        for row, v in zip(self.data, values, strict=True):
            row.append(v)

    def get_column(self, name: str, convert_to: str | None = None) -> Any:
        """The values of column `name` (a NumPy array with ``convert_to="numpy"``)."""
        if name not in self.columns:
            raise KeyError(f"nbtrack.Table: no column {name!r}; columns: {', '.join(self.columns)}")
        i = self.columns.index(name)
        values = [row[i] for row in self.data]
        if convert_to == "numpy":
            import numpy as np

            return np.array(values)
        return values

    def iterrows(self) -> Iterator[tuple[int, list[Any]]]:
        """(index, row) for each row."""
        yield from enumerate(self.data)

    def get_dataframe(self) -> Any:
        import importlib

        pd = importlib.import_module("pandas")  # optional: only this method needs it
        return pd.DataFrame(self.data, columns=self.columns)

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        return (
            f"<nbtrack.Table {len(self.data)} rows x {len(self.columns)} columns (not stored yet)>"
        )


class CustomChart(_Media):
    """What the `plot` functions return (W&B's custom charts): not stored yet."""

    _log_type = "custom-chart"


class _Plot:
    """``wandb.plot``: the chart builders, accepted; what they make cannot be logged yet."""

    def _chart(self, kind: str) -> Any:
        def build(*args: Any, **kwargs: Any) -> CustomChart:
            chart = CustomChart(*args, **kwargs)
            chart._log_type = f"plot.{kind}"
            return chart

        build.__name__ = kind
        build.__doc__ = f"W&B's ``wandb.plot.{kind}``: builds a chart that cannot be logged yet."
        return build

    def __getattr__(self, name: str) -> Any:
        if name in PLOT_NAMES:
            return self._chart(name)
        raise AttributeError(f"nbtrack.plot has no chart {name!r}; W&B's: {', '.join(PLOT_NAMES)}")

    def __dir__(self) -> list[str]:
        return list(PLOT_NAMES)


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

plot = _Plot()

MEDIA_NAMES = ("Image", "Table", "Video", "Audio", "Html", "Object3D", "Molecule", "plot")
