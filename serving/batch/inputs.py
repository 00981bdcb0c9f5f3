"""Input files of the batch scorer: finding them, and streaming them in record batches.

Inputs are read in Arrow record batches, so memory follows the batch size, not the
file size. (The output side is :mod:`writer`.)
"""

from __future__ import annotations

import glob
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from modelpack.errors import InvalidInput
from modelpack.messages import quoted
from modelpack.serving.batch.csv_errors import locate_bad_value, locate_ragged_row

if TYPE_CHECKING:
    import pyarrow as pa

Format = Literal["parquet", "csv", "jsonl"]
FORMATS: tuple[Format, ...] = ("parquet", "csv", "jsonl")

_EXTENSIONS: dict[str, Format] = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
_GLOB_CHARS = frozenset("*?[")
#: given a text file's column names, the types to parse some of them as
TextTypes = Callable[[list[str]], dict[str, "pa.DataType"]]
# Column types of CSV and JSON lines are inferred from a first block this large ...
_INFER_BLOCK_BYTES = 8 << 20
# ... then the file is parsed in blocks of this many bytes. Arrow's streaming readers
# read up to 32 blocks ahead of the consumer: 8 MB blocks held ~290 MB of a large file
# in memory, 1 MB blocks ~35 MB, at the same speed.
_TEXT_BLOCK_BYTES = 1 << 20


def format_of(path: Path) -> Format | None:
    """The format a file's extension names, or None.

    >>> format_of(Path("scores/part-0.parquet"))
    'parquet'
    """
    return _EXTENSIONS.get(path.suffix.lower())


def _is_data_file(path: Path, root: Path | None = None) -> bool:
    """A file to read: not hidden, not a ``_SUCCESS``-style marker, and (below ``root``)
    not inside a hidden or ``_``-named directory, where Spark keeps unfinished output
    (``_temporary/``) and editors their copies (``.ipynb_checkpoints/``)."""
    parts = path.relative_to(root).parts if root is not None else (path.name,)
    return not any(part.startswith((".", "_")) for part in parts) and path.is_file()


def discover_inputs(spec: str, input_format: Format | None) -> tuple[list[Path], Format]:
    """The input files ``spec`` names (a file, a directory or a glob), sorted, and their format.

    Hidden files, ``_SUCCESS``-style markers, and hidden or ``_``-named directories
    (Spark's ``_temporary/``) in a directory are ignored. Every file
    must be of one format: the one given, or the one the extensions agree on.

    >>> discover_inputs("data/*.parquet", None)  # doctest: +SKIP
    ([PosixPath('data/a.parquet'), PosixPath('data/b.parquet')], 'parquet')
    """
    if not spec or "\x00" in spec:
        raise InvalidInput("input must name a file, a directory or a glob pattern")
    path = Path(spec).expanduser()
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if _is_data_file(p, path))
        if input_format is not None:
            files = [p for p in files if format_of(p) in (input_format, None)]
        else:
            files = [p for p in files if format_of(p) is not None]
        where = f"directory '{path}'"
    elif path.exists():
        if not path.is_file():
            raise InvalidInput(f"input '{path}' is not a regular file")
        files = [path]
        where = f"'{path}'"
    elif _GLOB_CHARS & set(spec):
        files = sorted(Path(p) for p in glob.glob(os.path.expanduser(spec), recursive=True))
        files = [p for p in files if _is_data_file(p)]
        where = f"pattern '{spec}'"
    else:
        raise InvalidInput(f"input '{path}' does not exist")
    if not files:
        raise InvalidInput(f"no input files found in {where}")
    if input_format is not None:
        return files, input_format
    found = {format_of(p) for p in files}
    if None in found or len(found) != 1:
        names = ", ".join(sorted(str(f) for f in found if f)) or "none"
        raise InvalidInput(
            f"cannot tell the input format of {where} from file extensions (found: {names}); "
            "pass --input-format parquet|csv|jsonl"
        )
    return files, found.pop()  # type: ignore[return-value]


@dataclass(frozen=True)
class InputFile:
    """One input file being read: its path and how many bytes and rows it holds."""

    path: Path
    format: Format
    size: int
    rows: int | None  # known up front for parquet only


def open_input(path: Path, fmt: Format) -> InputFile:
    """Check that ``path`` can be read as ``fmt``; count its rows when that is free."""
    try:
        size = path.stat().st_size
        with path.open("rb"):
            pass
    except OSError as exc:
        raise InvalidInput(f"cannot read input '{path}': {exc.strerror}") from None
    if size == 0:
        raise InvalidInput(f"input '{path}' is empty (0 bytes)")
    rows = None
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            metadata = pq.ParquetFile(path).metadata
        except Exception:
            raise InvalidInput(
                f"input '{path}' is not a valid parquet file; pass --input-format if it is "
                "CSV or JSON lines"
            ) from None
        rows = metadata.num_rows
        _refuse_duplicates(path, metadata.schema.to_arrow_schema().names)
    return InputFile(path, fmt, size, rows)


def _refuse_duplicates(path: Path, names: list[str]) -> None:
    """Two columns of one name: which one would the model or the output mean?"""
    twice = [name for name, count in Counter(names).items() if count > 1]
    if twice:
        raise InvalidInput(
            f"input '{path}' has more than one column named {quoted(twice)}; "
            "rename them so each name is one column"
        )


def iter_batches(
    source: InputFile, batch_rows: int, text_types: TextTypes | None = None
) -> Iterator[tuple[pa.RecordBatch, int]]:
    """Stream ``source`` as record batches of at most ``batch_rows`` rows.

    Yields ``(batch, bytes_read_so_far)``. In text formats ``text_types`` is given the
    file's column names and fixes the types of the columns it returns, so a column is
    not inferred as long from its first block and then refused at a decimal point
    further down; the other columns' types are inferred.
    """
    import pyarrow as pa

    rows = 0
    types: dict[str, pa.DataType] = {}
    try:
        if source.format == "parquet":
            import pyarrow.parquet as pq

            parquet = pq.ParquetFile(source.path, buffer_size=1 << 20)
            done = 0
            # One reader per row group: a single reader over the whole file keeps what
            # it decoded alive, and memory then grows with the file.
            for group in range(parquet.num_row_groups):
                for batch in parquet.iter_batches(batch_size=batch_rows, row_groups=[group]):
                    done += batch.num_rows
                    yield batch, source.size * done // max(source.rows or 1, 1)
            return
        with pa.OSFile(str(source.path), "rb") as handle:
            types = _inferred_types(handle, source.format, text_types, source.path)
        with pa.OSFile(str(source.path), "rb") as handle:
            reader = _text_reader(handle, source.format, types, _TEXT_BLOCK_BYTES)
            for batch, position in _rebatch(reader, batch_rows, source.size):
                rows += batch.num_rows
                yield batch, position
    except pa.ArrowInvalid as exc:
        no_skip = (
            " (a reader cannot resume past a line it cannot parse, so --on-error skip does "
            "not apply)"
        )
        bad = locate_bad_value(source.path, types, str(exc)) if source.format == "csv" else None
        if bad is not None:
            raise InvalidInput(
                f"{bad.describe(source.path)}; correct or remove that value{no_skip}"
            ) from None
        ragged = locate_ragged_row(source.path, str(exc)) if source.format == "csv" else None
        if ragged is not None:
            raise InvalidInput(f"{ragged}; quote values that hold commas{no_skip}") from None
        after = f" after row {rows}" if rows else ""
        raise InvalidInput(
            f"input '{source.path}' cannot be read as {source.format}{after}: "
            f"{_first_line(exc)}{no_skip}"
        ) from None


def _inferred_types(
    handle: pa.NativeFile, fmt: Format, text_types: TextTypes | None, path: Path
) -> dict[str, pa.DataType]:
    """Every column's type: from ``text_types`` where it says, else inferred from a
    first large block, as a reader with large blocks would infer it."""
    schema = _text_reader(handle, fmt, None, _INFER_BLOCK_BYTES).schema
    _refuse_duplicates(path, schema.names)
    types = {name: schema.field(name).type for name in schema.names}
    if text_types is not None:
        types |= text_types(list(types))
    return types


def _rebatch(reader: Any, batch_rows: int, size: int) -> Iterator[tuple[pa.RecordBatch, int]]:
    """The reader's small blocks as batches of ``batch_rows`` rows (fewer at the end)."""

    pending: list[pa.RecordBatch] = []
    rows = 0
    position = 0
    for block in reader:
        # The reader reads ahead, so the file position says little; each block is
        # about _TEXT_BLOCK_BYTES of input, which gives a steady estimate.
        position = min(position + _TEXT_BLOCK_BYTES, size)
        if block.num_rows == 0:
            continue
        pending.append(block)
        rows += block.num_rows
        while rows >= batch_rows:
            merged = _concat(pending)
            yield merged.slice(0, batch_rows), position
            rest = merged.slice(batch_rows)
            pending, rows = ([rest], rest.num_rows) if rest.num_rows else ([], 0)
    if rows:
        yield _concat(pending), size


def _concat(batches: list[pa.RecordBatch]) -> pa.RecordBatch:
    if len(batches) == 1:
        return batches[0]
    import pyarrow as pa

    table = pa.Table.from_batches(batches).combine_chunks()
    return table.to_batches()[0]


def _text_reader(
    handle: pa.NativeFile,
    fmt: Format,
    column_types: dict[str, pa.DataType] | None,
    block_bytes: int,
) -> Any:
    if fmt == "csv":
        import pyarrow.csv as pacsv

        return pacsv.open_csv(
            handle,
            read_options=pacsv.ReadOptions(block_size=block_bytes),
            convert_options=pacsv.ConvertOptions(column_types=column_types or {}),
        )
    import pyarrow as pa
    import pyarrow.json as pajson

    schema = pa.schema(list((column_types or {}).items())) if column_types else None
    return pajson.open_json(
        handle,
        read_options=pajson.ReadOptions(block_size=block_bytes),
        parse_options=pajson.ParseOptions(explicit_schema=schema),
    )


def _first_line(exc: BaseException) -> str:
    """Arrow's message without the data it quotes: its first line, with quoted values
    and the copy of an offending row taken out (``... got 6: 3,5.0,SECRET``)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = _QUOTED.sub("(a value)", text)
    text = _ROW_COPY.sub(r"\1", text)
    return text if len(text) <= 160 else text[:157] + "..."


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_ROW_COPY = re.compile(r"(columns?, got \d+):.*$")


__all__ = [
    "FORMATS",
    "Format",
    "InputFile",
    "TextTypes",
    "discover_inputs",
    "format_of",
    "iter_batches",
    "open_input",
]
