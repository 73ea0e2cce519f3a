"""`Table`: W&B's table of rows, logged as what it holds at `log()` time.

A table is kept row by row as W&B keeps it (``table.data``), so scripts that read their
tables back keep working. `prepare_table` copies the rows when the table is logged (a row
added afterwards belongs to the next log), turning NumPy scalars into Python numbers and
copying the pixels of image cells; the writer then stores the rows with a type per column
and a small thumbnail per image cell.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from nbtrack.media import _encode
from nbtrack.media._base import Media, json_number, text
from nbtrack.media._image import Image, check_boxes, check_masks, encode_one, size_of, snapshot
from nbtrack.media._prepare import MediaEntry

if TYPE_CHECKING:
    from nbtrack.store.media_files import MediaFiles

MAX_ROWS = 100_000
MAX_COLUMNS = 200
_PLAIN = (int, float, str, bool, type(None))
CELLS = "int, float, str, bool, None, NumPy scalars or nbtrack.Image"


class Table(Media):
    """A table, as W&B's ``wandb.Table``: columns and rows, logged as one table a step.

    >>> t = nbtrack.Table(columns=["epoch", "loss"])
    >>> t.add_data(0, 0.9)
    >>> t.get_column("loss")
    [0.9]
    >>> run.log({"preds": nbtrack.Table(columns=["img", "label"], data=[[nbtrack.Image(x), 3]])})

    Cells are numbers (NaN too), strings, bools, None, NumPy scalars or `Image`s; at most
    100,000 rows and 200 columns. ``Table(dataframe=df)`` takes a pandas DataFrame.
    """

    kind = "table"
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
        del dtype, optional, allow_mixed_types, log_mode
        if dataframe is not None:
            columns = [str(c) for c in dataframe.columns]
            data = _frame_rows(dataframe)
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
                f"({', '.join(map(str, self.columns))}), got {len(data)} values"
            )
        self.data.append(list(data))

    add_row = add_data

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
        """The rows as a pandas DataFrame."""
        import importlib

        pd = importlib.import_module("pandas")  # optional: only this method needs it
        return pd.DataFrame(self.data, columns=self.columns)

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        return f"<nbtrack.Table {len(self.data)} rows x {len(self.columns)} columns>"


def _frame_rows(df: Any) -> list[list[Any]]:
    """A DataFrame's rows, column by column (``.values`` would make one dtype of all of them:
    ints as floats); a missing value of a string or object column is None."""
    columns = []
    for i in range(df.shape[1]):
        col = df.iloc[:, i]
        values = col.tolist()
        if col.dtype.kind not in "biufcmM":
            values = [None if _missing(v) else v for v in values]
        columns.append(values)
    return [list(row) for row in zip(*columns, strict=True)] if columns else []


def _missing(v: Any) -> bool:
    return v is None or (type(v) is float and v != v) or type(v).__name__ in ("NAType", "NaTType")


class ImageCell:
    """An image in a table cell, as prepare copied it."""

    __slots__ = ("extra", "src")

    def __init__(self, src: Any, extra: Any) -> None:
        self.src = src
        self.extra = extra


# A snapshot of a table: its columns, its rows (plain cells and ImageCells), bytes held.
Snapshot = tuple[list[str], list[list[Any]], int]


def snapshot_table(key: str, table: Table) -> Snapshot:
    """Check a table's size and cells and copy its rows."""
    columns = [text(key, "column", c) or "" for c in table.columns]
    rows = table.data
    if len(columns) > MAX_COLUMNS or len(rows) > MAX_ROWS:
        raise ValueError(
            f"nbtrack.log: key {key!r} is a table of {len(rows):,} rows x {len(columns)} "
            f"columns; nbtrack keeps at most {MAX_ROWS:,} rows x {MAX_COLUMNS} columns a table"
        )
    np = sys.modules.get("numpy")
    pd = sys.modules.get("pandas")
    out: list[list[Any]] = []
    nbytes = 0
    for r, row in enumerate(rows):
        if len(row) != len(columns):
            raise ValueError(
                f"nbtrack.log: key {key!r} row {r} has {len(row)} cells for {len(columns)} columns"
            )
        copy = list(row)
        for c, cell in enumerate(copy):
            if type(cell) in _PLAIN:
                if type(cell) is str:
                    text(key, f"row {r} column {columns[c]!r}", cell)
                continue
            if np is not None and isinstance(cell, np.generic) and cell.dtype.kind in "biuf":
                copy[c] = cell.item()
            elif isinstance(cell, bool):
                copy[c] = bool(cell)
            elif isinstance(cell, int):
                copy[c] = int(cell)
            elif isinstance(cell, float):
                copy[c] = float(cell)
            elif isinstance(cell, str):
                copy[c] = text(key, f"row {r} column {columns[c]!r}", cell)
            elif pd is not None and cell is pd.NA:
                copy[c] = None
            elif isinstance(cell, Image):
                copy[c], size = _image_cell(key, f"row {r} column {columns[c]!r}", cell)
                nbytes += size
            else:
                raise TypeError(
                    f"nbtrack.log: key {key!r} row {r} column {columns[c]!r} is a "
                    f"{type(cell).__name__}; a table cell is {CELLS}"
                )
        out.append(copy)
    return columns, out, nbytes + 16 * len(columns) * len(out)


def _image_cell(key: str, where: str, cell: Image) -> tuple[ImageCell, int]:
    """An image cell's copy; its errors name the row and column."""
    try:
        src, size = snapshot(key, None, cell.data_or_path)
        masks = check_masks(key, None, cell.masks, size_of(src), cell.classes)
        boxes = check_boxes(key, None, cell.boxes, cell.classes)
    except (TypeError, ValueError, FileNotFoundError) as e:
        message = str(e).replace(f"key {key!r}", f"key {key!r} {where}", 1)
        raise type(e)(message) from None
    caption = text(key, f"{where} caption", cell.caption)
    return ImageCell(src, (caption, masks, boxes, cell.mode)), size


def prepare_table(key: str, table: Table) -> MediaEntry:
    columns, rows, nbytes = snapshot_table(key, table)
    return MediaEntry(key, "table", nbytes, lambda files: encode_table(key, files, columns, rows))


def column_type(cells: Iterator[Any]) -> str:
    """ "number", "string", "bool", "image", or "mixed" (several kinds, or only Nones)."""
    seen = set()
    for v in cells:
        tp = type(v)
        if v is None:
            continue
        seen.add(
            "bool" if tp is bool
            else "number" if tp is int or tp is float
            else "string" if tp is str
            else "image"
        )  # fmt: skip
        if len(seen) > 1:
            return "mixed"
    return seen.pop() if seen else "mixed"


def encode_table(
    key: str, files: MediaFiles, columns: list[str], rows: list[list[Any]]
) -> dict[str, Any]:
    """The table payload: columns, a type per column, the rows (images as thumbnails)."""
    types = [column_type(row[c] for row in rows) for c in range(len(columns))]
    data = []
    for row in rows:
        cells = []
        for v in row:
            tp = type(v)
            if tp is float:
                cells.append(json_number(v))
            elif tp is ImageCell:
                item = encode_one(key, None, files, v.src, v.extra, _encode.TABLE_THUMB)
                cells.append({"_type": "image", **item})
            else:
                cells.append(v)
        data.append(cells)
    return {"columns": columns, "types": types, "rows": len(rows), "data": data}
