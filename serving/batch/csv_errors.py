"""Where in a CSV file a value failed to convert: the row, the column by name.

Arrow's streaming CSV reader reports a bad value as ``In CSV column #3: CSV conversion
error to double``: the column counted from 0, no row, and it reads blocks ahead of the
batches handed out, so the rows read so far say little about where the bad one is.
When that happens, the file is read once more with only that column, as text, and the
first value that Arrow's own CSV converter refuses is found by bisection. The message
names the file, the row (counted from 1, the header line not counted) and the column,
never the value. A row with more or fewer fields than the header is found the same way,
with Python's ``csv`` reader counting rows as Arrow does (a quoted newline is in its row).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

_CONVERSION = re.compile(r"^In CSV column #(\d+): CSV conversion error to ([^:]+):")
_BLOCK_BYTES = 1 << 20


@dataclass(frozen=True)
class BadValue:
    """The first value of a CSV file that cannot be read as ``type``.

    ``row`` counts data rows from 1: the first line after the header is row 1.
    """

    column: str
    row: int
    type: str

    def describe(self, path: Path) -> str:
        return (
            f"input '{path}', row {self.row} (the first row after the header is row 1), "
            f"column '{self.column}': the value is not a valid {self.type}"
        )


def locate_bad_value(
    path: Path, column_types: dict[str, pa.DataType], message: str
) -> BadValue | None:
    """The bad value Arrow's ``message`` is about, or None when the message is not a
    conversion error or the value cannot be found again.

    ``column_types`` holds every column of the file, in the file's order, with the
    type it was read as.
    """
    found = _CONVERSION.match(message)
    names = list(column_types)
    if found is None or int(found.group(1)) >= len(names):
        return None
    name = names[int(found.group(1))]
    target = column_types[name]
    row = _first_bad_row(path, name, target)
    return None if row is None else BadValue(name, row, found.group(2).strip())


def locate_ragged_row(path: Path, message: str) -> str | None:
    """For Arrow's ``CSV parse error: Expected 4 columns, got 5``: which row, counted as
    :class:`BadValue` counts; None for other errors or when no such row is found."""
    if not message.startswith("CSV parse error: Expected "):
        return None
    import csv

    try:
        with path.open(newline="", encoding="utf-8", errors="replace") as handle:
            reader = csv.reader(handle)
            width = len(next(reader, []))
            for row, fields in enumerate(reader, start=1):
                if fields and len(fields) != width:
                    return (
                        f"input '{path}', row {row} (the first row after the header is row 1) "
                        f"has {len(fields)} fields where the header has {width}"
                    )
    except (OSError, csv.Error):
        return None
    return None


def _first_bad_row(path: Path, name: str, target: pa.DataType) -> int | None:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    options = pacsv.ConvertOptions(
        include_columns=[name], column_types={name: pa.string()}, strings_can_be_null=True
    )
    seen = 0
    with pa.OSFile(str(path), "rb") as handle:
        reader = pacsv.open_csv(
            handle, read_options=pacsv.ReadOptions(block_size=_BLOCK_BYTES), convert_options=options
        )
        for block in reader:
            values = block.column(0)
            if not _converts(values, target):
                return seen + _bisect(values, target) + 1
            seen += block.num_rows
    return None


def _bisect(values: pa.Array, target: pa.DataType) -> int:
    """Index of the first value in ``values`` (which holds one that fails) that fails."""
    low, high = 0, len(values)  # the first bad value is in values[low:high]
    while high - low > 1:
        middle = (low + high) // 2
        if _converts(values.slice(low, middle - low), target):
            low = middle
        else:
            high = middle
    return low


def _converts(values: pa.Array, target: pa.DataType) -> bool:
    """Whether Arrow's CSV reader converts every one of ``values`` to ``target``: the
    same converter as the failed read, not ``cast``, which accepts other spellings."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    sink = io.BytesIO()
    pacsv.write_csv(pa.table({"v": values}), sink)
    try:
        pacsv.read_csv(
            io.BytesIO(sink.getvalue()),
            convert_options=pacsv.ConvertOptions(column_types={"v": target}),
        )
    except pa.ArrowInvalid:
        return False
    return True


__all__ = ["BadValue", "locate_bad_value", "locate_ragged_row"]
