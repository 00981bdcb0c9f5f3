"""The output file of the batch scorer, written atomically.

The output is written to a hidden temporary file beside the target and renamed over it
only when the whole job succeeded; an error, Ctrl-C or crash never leaves a partial
file under the output name, and the next run removes a temporary file a killed run
left behind.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelpack.atomic_save import pid_alive
from modelpack.errors import InvalidInput
from modelpack.messages import quoted
from modelpack.serving.batch.inputs import Format

if TYPE_CHECKING:
    import pyarrow as pa


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
        if pid.isdigit() and not pid_alive(int(pid)):
            try:
                path.unlink(missing_ok=True)
            except OSError:  # not ours to remove after all: tidying never fails a job
                pass


#: temp files this process created and has neither committed nor removed yet
_UNFINISHED: set[Path] = set()


def remove_unfinished() -> None:
    """Remove this process's temp files still in flight: what a Ctrl-C that landed
    between a temp file's creation and its ``with`` block would otherwise leave."""
    for path in list(_UNFINISHED):
        path.unlink(missing_ok=True)
        _UNFINISHED.discard(path)


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
        _UNFINISHED.add(self.tmp)  # before the file exists, so no signal can orphan it
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
        _UNFINISHED.discard(self.tmp)

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
        _UNFINISHED.discard(self.tmp)


def check_output(target: Path) -> None:
    """Refuse an output path that cannot become a file."""
    if target.name in ("", ".", "..") or target.is_dir():
        raise InvalidInput(f"output '{target}' is a directory; give a file name")
    if not target.parent.is_dir():
        raise InvalidInput(f"output directory '{target.parent}' does not exist")


__all__ = ["AtomicWriter", "OutputMismatch", "check_output", "remove_unfinished"]
