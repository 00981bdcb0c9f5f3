"""Files in and out of the batch scorer: finding inputs, streaming them, writing atomically.

Inputs are read in Arrow record batches, so memory follows the batch size, not the
file size. The output is written to a hidden temporary file beside the target and
renamed over it only when the whole job succeeded; an error, Ctrl-C or crash never
leaves a partial file under the output name.
"""

from __future__ import annotations

import glob
import os
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from modelpack.errors import InvalidInput
from modelpack.messages import quoted

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
        after = f" after row {rows}" if rows else ""
        raise InvalidInput(
            f"input '{source.path}' cannot be read as {source.format}{after}: {_first_line(exc)}"
            " (a reader cannot resume past a line it cannot parse, so --on-error skip does "
            "not apply)"
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


class OutputMismatch(ValueError):
    """A batch's columns cannot go into the output file the first batch started."""


def _check_csv_columns(schema: pa.Schema) -> None:
    """CSV holds text and numbers: refuse list, struct, map and binary columns up front."""
    import pyarrow as pa

    for field in schema:
        t = field.type
        if pa.types.is_nested(t) or pa.types.is_binary(t) or pa.types.is_large_binary(t):
            raise InvalidInput(
                f"CSV output cannot hold column '{field.name}' of type {t}; write parquet or "
                "JSON lines instead (-o out.parquet, -o out.jsonl)"
            )


def _temp_prefix() -> str:
    """The start of this host's temp file names: a fixed length, whatever the output is
    called (a long output name must not become a name too long for the file system),
    and the host's mark, so a run never takes another machine's pid for one of its own."""
    import hashlib
    import socket

    host = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]
    return f".tmp-modelpack-{host}-"


def _remove_stale_temps(directory: Path, prefix: str) -> None:
    """Remove the temp files (named ``prefix`` + pid) of writers on this host that died
    without cleaning up (``kill -9``, a lost machine): a temp file whose writer is gone
    is nobody's."""
    try:
        candidates = [p for p in directory.iterdir() if p.name.startswith(prefix)]
    except OSError:
        return
    for path in candidates:
        pid = path.name[len(prefix) :].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            try:
                path.unlink(missing_ok=True)
            except OSError:  # not ours to remove after all: tidying never fails a job
                pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


class AtomicWriter:
    """Writes record batches to a temporary file beside ``target``; ``commit`` renames it.

    >>> with AtomicWriter(Path("out.parquet"), "parquet") as out:  # doctest: +SKIP
    ...     out.write(batch)
    ...     out.commit()
    """

    def __init__(self, target: Path, fmt: Format) -> None:
        self.target = target
        self.format = fmt
        prefix = _temp_prefix()
        self.tmp = target.with_name(f"{prefix}{os.getpid()}-{uuid.uuid4().hex[:12]}")
        self.schema: pa.Schema | None = None
        self._writer: Any = None
        self._handle: Any = None
        check_output(target)
        _remove_stale_temps(target.parent, prefix)
        try:
            self._handle = self.tmp.open("xb")
        except OSError as exc:
            raise InvalidInput(
                f"cannot write output beside '{target}': {exc.strerror}; choose a writable "
                "directory"
            ) from None

    def __enter__(self) -> AtomicWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def write(self, table: pa.Table) -> None:
        """Append ``table``: its columns are lined up with the first table's by name and
        cast to its types; :class:`OutputMismatch` says which columns do not fit."""
        if self.schema is None:
            self.schema = table.schema
            self._writer = self._open_writer(table.schema)
        elif table.schema != self.schema:
            table = self._conform(table, self.schema)
        if self.format == "jsonl":
            self._write_jsonl(table)
        else:
            self._writer.write_table(table)

    @staticmethod
    def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
        import pyarrow as pa

        names, want = table.schema.names, schema.names
        if sorted(names) != sorted(want):
            missing = [n for n in want if n not in names]
            extra = [n for n in names if n not in want]
            parts = []
            if missing:
                parts.append(f"no column {quoted(missing)}")
            if extra:
                parts.append(f"a column {quoted(extra)} the first batch written did not have")
            raise OutputMismatch(" and ".join(parts))
        if names != want:
            table = table.select(want)
        try:
            return table.cast(schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            # Arrow's message can quote the values that failed: name the columns instead
            differ = [
                f"'{f.name}' is {table.schema.field(f.name).type} here, {f.type} in the "
                "first batch written"
                for f in schema
                if table.schema.field(f.name).type != f.type
            ]
            raise OutputMismatch("; ".join(differ[:5]) or "the column types differ") from None

    def _open_writer(self, schema: pa.Schema) -> Any:
        if self.format == "jsonl":
            return None
        import pyarrow as pa

        if self.format == "csv":
            _check_csv_columns(schema)

        # Arrow's own file: its writes do not go through Python and hold no GIL.
        self._handle.close()
        self._handle = pa.OSFile(str(self.tmp), "wb")
        if self.format == "parquet":
            import pyarrow.parquet as pq

            return pq.ParquetWriter(self._handle, schema)
        import pyarrow.csv as pacsv

        return pacsv.CSVWriter(self._handle, schema)

    def _write_jsonl(self, table: pa.Table) -> None:
        """One JSON object per row, each value as the file holds it.

        Not through pandas: ``to_json`` turns an integer column with a null into floats
        (9007199254740993 into ...992.0), cuts times to milliseconds and fails on bytes.
        Values are written as the server answers them: base64 for bytes, ISO 8601 for
        times and dates, null for what is missing.
        """
        import orjson

        from modelpack.serving.encoding import json_value_or_text

        rows = table.to_pylist()
        if rows:
            lines = [orjson.dumps(row, default=json_value_or_text) for row in rows]
            self._handle.write(b"\n".join(lines) + b"\n")

    def commit(self) -> None:
        """Finish the file and move it to the target name."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._handle.close()
        fd = os.open(self.tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(self.tmp, self.target)

    def close(self) -> None:
        """Discard the temporary file unless ``commit`` already moved it into place."""
        try:
            if self._writer is not None:
                self._writer.close()
        except Exception:
            pass  # the file is being discarded; a close error changes nothing
        if self._handle is not None and not self._handle.closed:
            self._handle.close()
        self.tmp.unlink(missing_ok=True)


def check_output(target: Path) -> None:
    """Refuse an output path that cannot become a file."""
    if target.name in ("", ".", "..") or target.is_dir():
        raise InvalidInput(f"output '{target}' is a directory; give a file name")
    if not target.parent.is_dir():
        raise InvalidInput(f"output directory '{target.parent}' does not exist")


__all__ = [
    "FORMATS",
    "AtomicWriter",
    "Format",
    "OutputMismatch",
    "InputFile",
    "TextTypes",
    "check_output",
    "discover_inputs",
    "format_of",
    "iter_batches",
    "open_input",
]
