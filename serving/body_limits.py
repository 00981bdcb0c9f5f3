"""Limits on what a request body decodes to, checked before it is decoded.

``--max-body-bytes`` bounds the bytes a client sends; a compressed parquet body of a few
hundred kilobytes can still hold a table of gigabytes, and a JSON document can nest
deeper than any code that walks it can recurse. So a body is also judged by what it
would become: its table's size estimated at 8 bytes a value (what a number costs in a
DataFrame), read from the parquet footer or counted in the text, against
``--max-decoded-bytes``; and a JSON document by how deep it nests.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.exceptions import HTTPException

from modelpack.errors import InvalidInput

#: deepest nesting accepted in a JSON body: a tensor has at most 64 dimensions (numpy's
#: limit) plus the request's own object; anything near Python's recursion limit (1,000)
#: would fail in whatever walks it next
MAX_JSON_DEPTH = 100
#: bytes a decoded value is counted at (a float64, an int64 or a pointer to an object)
VALUE_BYTES = 8
#: most column chunks (columns x row groups) a parquet footer may list
MAX_PARQUET_CHUNKS = 100_000
#: most columns a CSV body's header may name: pandas takes ~1.5 s to read a 10,000-column
#: header (and grows faster than linearly), holding a worker thread all that time
MAX_CSV_COLUMNS = 10_000

#: a JSON string literal (escapes included), as it appears in a body that decoded
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
#: ``bytes.translate`` arguments keeping only brackets, with ``{}`` read as ``[]``
_SQUARE = bytes.maketrans(b"{}", b"[]")
_NOT_SYNTAX = bytes(b for b in range(256) if b not in b'[]{}"')


def too_large(estimate: int, limit: int, what: str) -> HTTPException:
    """The 413 for a body whose decoded table would exceed ``limit`` bytes."""
    return HTTPException(
        413,
        f"{what} would decode to about {estimate} bytes, over the limit of {limit} "
        "(--max-decoded-bytes); send fewer rows per request",
    )


def check_text_table(body: bytes, limit: int | None, what: str) -> None:
    """Refuse a CSV or JSON body whose values, counted by their separators, exceed ``limit``.

    Each value is at least one byte and a separator, and becomes at least 8 bytes.
    """
    if limit is None or len(body) * VALUE_BYTES <= limit:
        return  # no body this small can exceed it: nothing to count
    values = body.count(b",") + body.count(b"\n") + 1
    if values * VALUE_BYTES > limit:
        raise too_large(values * VALUE_BYTES, limit, what)


def check_csv_columns(body: bytes) -> None:
    """Refuse a CSV body whose header names more than :data:`MAX_CSV_COLUMNS` columns.

    Counted by the commas of the first line (a quoted comma counts too: the count can
    only be high, never let a wider header through).
    """
    end = body.find(b"\n", 0, MAX_CSV_COLUMNS * 64)
    header = body[: end if end >= 0 else MAX_CSV_COLUMNS * 64]
    if header.count(b",") >= MAX_CSV_COLUMNS:
        raise InvalidInput(
            f"the CSV body's header names more than {MAX_CSV_COLUMNS} columns; "
            "send a table this wide as parquet (application/vnd.apache.parquet) or JSON"
        )


def check_json_depth(body: bytes, doc: Any) -> None:
    """Refuse a decoded JSON document nested deeper than :data:`MAX_JSON_DEPTH`.

    Judged on the text ``doc`` was decoded from, at C speed: a body with fewer brackets
    than the limit cannot nest deeper; otherwise its brackets outside strings are kept
    (a bracket in a string is no nesting), and innermost ``[]`` pairs are removed once
    per level.
    """
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return
    brackets = _brackets_outside_strings(body)
    for _ in range(MAX_JSON_DEPTH):
        if not brackets:
            return
        shorter = brackets.replace(b"[]", b"")
        if len(shorter) == len(brackets):
            break  # not balanced: cannot be from a document that decoded
        brackets = shorter
    if brackets:
        raise InvalidInput(
            f"request body nests arrays or objects more than {MAX_JSON_DEPTH} levels "
            "deep; flatten it (a tensor is at most 64 levels)"
        )


def _brackets_outside_strings(body: bytes) -> bytes:
    """The brackets of the JSON text ``body`` that are not inside a string, ``{}`` as ``[]``.

    Without escapes every quote opens or closes a string. Only brackets and quotes are
    kept; then two adjacent quotes (an empty string, or one string's end and the next
    one's start with no bracket between) go without changing which brackets are
    inside a string, and what is left between quotes usually is nothing.
    """
    if b"\\" in body:  # an escaped quote is no delimiter: cut out whole string literals
        body = _JSON_STRING.sub(b"", body)
    kept = body.translate(_SQUARE, _NOT_SYNTAX).replace(b'""', b"")
    if b'"' in kept:  # brackets inside strings: keep every other piece
        kept = b"".join(kept.split(b'"')[::2])
    return kept


def parquet_decoded_bytes(body: bytes) -> int:
    """The size a parquet body's table decodes to, estimated from its footer alone.

    The largest of: the uncompressed size the footer records, its values (a nested
    column counts every element) at 8 bytes each, and rows x columns at 8 bytes each.
    Dictionary and run-length encoding make the first small for a table of repeated
    values, which is why the counts are taken too.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(pa.BufferReader(body)).metadata
    chunks = meta.num_row_groups * meta.num_columns
    if chunks > MAX_PARQUET_CHUNKS:
        raise HTTPException(
            413,
            f"parquet body lists {chunks} column chunks, over the limit of "
            f"{MAX_PARQUET_CHUNKS}; write fewer row groups",
        )
    uncompressed: int = 0
    values: int = 0
    for i in range(meta.num_row_groups):
        group = meta.row_group(i)
        uncompressed += max(int(group.total_byte_size), 0)
        for j in range(group.num_columns):
            values += max(int(group.column(j).num_values), 0)
    cells = int(meta.num_rows) * int(meta.num_columns)
    return max(uncompressed, values * VALUE_BYTES, cells * VALUE_BYTES)


__all__ = [
    "MAX_JSON_DEPTH",
    "MAX_PARQUET_CHUNKS",
    "VALUE_BYTES",
    "check_json_depth",
    "check_text_table",
    "parquet_decoded_bytes",
    "too_large",
]
