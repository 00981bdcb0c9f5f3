"""A run's artifacts: the file list, previews of the first 64 KB, raw images.

A path from the URL is used only if it is exactly one of the names the store lists
for the run (an allow-list of exact names, never a prefix); the file is then checked
to be a regular file inside the run's artifact directory before it is opened, and
never more than :data:`PREVIEW_BYTES` are read for a preview.
"""

from __future__ import annotations

import csv
import io
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelpack.tracking.client import Client
from modelpack.ui.web import PageError

PREVIEW_BYTES = 64 * 1024
MAX_IMAGE_BYTES = 10 * 1024 * 1024
PREVIEW_ROWS = 20
#: a parquet preview reads the footer and the first rows of the first row group, if this small
MAX_PARQUET_GROUP_BYTES = 4 * 1024 * 1024
IMAGE_TYPES = {
    ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
    ".webp": "image/webp", ".svg": "image/svg+xml",
}  # fmt: skip
_TEXT = {".txt", ".log", ".md", ".json", ".yaml", ".yml", ".py", ".cfg", ".toml", ".ini"}
_NO_SUFFIX_TEXT = {"MLmodel", "requirements.txt", "LICENSE"}


@dataclass
class Preview:
    """What the page shows for one file: kind, text or table, and whether it was cut."""

    path: str
    kind: str  # text | json | image | table | binary
    size: int
    text: str = ""
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    truncated: bool = False
    note: str = ""


def checked_file(client: Client, run_id: str, path: str) -> tuple[Path, os.stat_result]:
    """The local file of artifact ``path`` of ``run_id`` and its ``lstat``; 404 unless
    ``path`` is exactly a listed artifact and a regular file inside the run's root."""
    if not path or len(path) > 1024 or "\x00" in path:
        raise PageError(404, "There is no artifact at this path in this run.")
    if path not in set(client.list_artifacts(run_id)):
        raise PageError(404, "There is no artifact at this path in this run.")
    root = Path(os.path.realpath(client.download_artifacts(run_id, "")))
    local = Path(client.download_artifacts(run_id, path))
    info = os.lstat(local)
    real = Path(os.path.realpath(local))
    if not stat.S_ISREG(info.st_mode) or not real.is_relative_to(root):
        raise PageError(404, "This artifact is not a regular file inside the run's artifacts.")
    return local, info


def _read_head(local: Path, limit: int) -> bytes:
    fd = os.open(local, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise PageError(404, "This artifact is not a regular file.")
        return handle.read(limit)


def _table_from_csv(head: bytes, truncated: bool) -> tuple[list[str], list[list[str]]]:
    text = head.decode("utf-8", "replace")
    if truncated and "\n" in text:
        text = text[: text.rindex("\n")]  # no half row
    reader = csv.reader(io.StringIO(text))
    rows = [row for _, row in zip(range(PREVIEW_ROWS + 1), reader, strict=False)]
    return (rows[0], rows[1:]) if rows else ([], [])


def _table_from_parquet(local: Path, size: int) -> tuple[list[str], list[list[str]], str]:
    import pyarrow.parquet as pq

    try:
        handle = pq.ParquetFile(local)
        if handle.metadata.num_row_groups == 0:
            return list(handle.schema_arrow.names), [], "no rows"
        group = handle.metadata.row_group(0)
        if group.total_byte_size > MAX_PARQUET_GROUP_BYTES:
            return list(handle.schema_arrow.names), [], "first row group too large to preview"
        batch = next(handle.iter_batches(batch_size=PREVIEW_ROWS), None)
    except Exception:  # noqa: BLE001 - any unreadable file is "not a parquet file" here
        return [], [], "not a readable parquet file"
    if batch is None:
        return list(handle.schema_arrow.names), [], "no rows"
    columns = batch.to_pydict()
    header = list(columns)
    rows = [[str(columns[c][i])[:200] for c in header] for i in range(batch.num_rows)]
    return header, rows, f"{handle.metadata.num_rows} rows in all"


def preview(client: Client, run_id: str, path: str) -> Preview:
    """The preview of one artifact file (first :data:`PREVIEW_BYTES` at most)."""
    local, info = checked_file(client, run_id, path)
    suffix = Path(path).suffix.lower()
    found = Preview(path=path, kind="binary", size=info.st_size)
    if suffix in IMAGE_TYPES:
        found.kind = "image"
        return found
    if suffix == ".parquet":
        found.kind = "table"
        found.header, found.rows, found.note = _table_from_parquet(local, info.st_size)
        return found
    head = _read_head(local, PREVIEW_BYTES)
    found.truncated = info.st_size > len(head)
    if suffix in (".csv", ".tsv"):
        found.kind = "table"
        found.header, found.rows = _table_from_csv(head, found.truncated)
        return found
    if suffix in _TEXT or Path(path).name in _NO_SUFFIX_TEXT or b"\x00" not in head[:4096]:
        try:
            text = head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:  # not just a character cut at the limit
                return found
            text = head[: exc.start].decode("utf-8")
        found.kind, found.text = "text", text
        if suffix == ".json" and not found.truncated:
            try:
                found.text = json.dumps(json.loads(text), indent=2)[:PREVIEW_BYTES]
                found.kind = "json"
            except ValueError:
                pass
    return found


def raw_image(client: Client, run_id: str, path: str) -> tuple[bytes, str]:
    """An image artifact's bytes and media type (images only, at most 10 MB)."""
    media = IMAGE_TYPES.get(Path(path).suffix.lower())
    if media is None:
        raise PageError(404, "Only image artifacts can be shown raw.")
    local, info = checked_file(client, run_id, path)
    if info.st_size > MAX_IMAGE_BYTES:
        raise PageError(413, "This image is larger than 10 MB; download it from the store.")
    return _read_head(local, MAX_IMAGE_BYTES), media


def model_dirs(paths: list[str]) -> list[str]:
    """The artifact folders that hold a logged model (an ``MLmodel`` file)."""
    return sorted(str(Path(p).parent) for p in paths if Path(p).name == "MLmodel")


def summary(client: Client, run_id: str, folder: str) -> dict[str, Any] | None:
    """The signature and flavors of the model logged under ``folder``."""
    from modelpack.ui.signatures import read_model_summary

    return read_model_summary(str(client.download_artifacts(run_id, folder)))


__all__ = ["PREVIEW_BYTES", "Preview", "model_dirs", "preview", "raw_image", "summary"]
