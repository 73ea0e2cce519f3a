"""W&B's data types: `Histogram`, stored as a histogram series, and the media types.

>>> run.log({"grads": nbtrack.Histogram(grads)})                  # from values
>>> run.log({"w": nbtrack.Histogram(np_histogram=np.histogram(w))})  # from NumPy's result

A logged `Histogram` lands in the store's histogram rows under its key at the row's step,
as `watch` stores its histograms, and the dashboards draw it as they draw those.

`Image`, `Table`, `Video`, `Audio`, `Html`, `Object3D`, `Molecule`, `plot` and `WBValue`
live in `nbtrack.media` and are the same objects here (``wandb.data_types.Image``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from nbtrack.media import (
    MEDIA_NAMES,
    PLOT_NAMES,
    Audio,
    CustomChart,
    Html,
    Image,
    Molecule,
    Object3D,
    Table,
    Video,
    WBValue,
    plot,
)

if TYPE_CHECKING:
    from nbtrack._values import HistogramEntry

__all__ = [
    "MEDIA_NAMES",
    "PLOT_NAMES",
    "Audio",
    "CustomChart",
    "Histogram",
    "Html",
    "Image",
    "Molecule",
    "Object3D",
    "Table",
    "Video",
    "WBValue",
    "plot",
    "rebin",
]


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
