"""``search_runs`` filters and ordering, MLflow's syntax.

A filter is clauses joined by ``and``: ``metrics.rmse < 0.5 and params.alpha = '0.1'
and tags.team != 'x' and attributes.status = 'FINISHED'``. Keys with spaces or dots
may be quoted with backticks. Ordering: ``["metrics.rmse DESC", "params.alpha"]``;
runs missing the key sort last either way.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from modelpack.errors import InvalidInput
from modelpack.tracking.entities import Run

_ENTITIES = {
    "metric": "metrics", "metrics": "metrics", "param": "params", "params": "params",
    "parameter": "params", "parameters": "params", "tag": "tags", "tags": "tags",
    "attribute": "attributes", "attributes": "attributes", "attr": "attributes", "run": "attributes",
}  # fmt: skip
_ATTRIBUTES = {"run_id", "run_name", "status", "start_time", "end_time", "experiment_id"}
_NUMERIC_ATTRIBUTES = {"start_time", "end_time"}
_CLAUSE = re.compile(
    r"^\s*(?P<ident>.+?)\s*(?P<op>!=|<=|>=|=|<|>|\s(?:NOT\s+)?I?LIKE\s)\s*(?P<value>.+?)\s*$",
    re.IGNORECASE | re.DOTALL,
)
_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^[-+]?(inf|infinity|nan)$", re.I)


@dataclass(frozen=True)
class SearchKey:
    """What a clause or an ``order_by`` entry names: ``entity`` is metrics, params, tags or
    attributes; ``key`` the metric, param or tag key, or the attribute's name."""

    entity: str
    key: str

    @property
    def numeric(self) -> bool:
        """Compared with numbers (metrics, start_time, end_time), not quoted strings."""
        return self.entity == "metrics" or self.key in _NUMERIC_ATTRIBUTES

    def get(self, run: Run) -> str | float | int | None:
        if self.entity == "metrics":
            return run.data.metrics.get(self.key)
        if self.entity == "params":
            return run.data.params.get(self.key)
        if self.entity == "tags":
            return run.data.tags.get(self.key)
        value: str | float | int | None = getattr(run.info, self.key)
        return value


@dataclass(frozen=True)
class Clause:
    """One comparison of a filter: ``op`` is one of =, !=, <, <=, >, >=, LIKE, ILIKE,
    NOT LIKE, NOT ILIKE; ``value`` a float for numeric keys, the unquoted text otherwise."""

    key: SearchKey
    op: str
    value: float | str


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "`'\"":
        return text[1:-1]
    return text


def _parse_key(text: str) -> SearchKey:
    text = text.strip()
    prefix, dot, rest = text.partition(".")
    entity = _ENTITIES.get(prefix.lower()) if dot else None
    if entity is None:
        entity, rest = "attributes", text
    key = _unquote(rest.strip())
    if entity == "attributes":
        key = {"name": "run_name", "run_uuid": "run_id"}.get(key, key)
        if key not in _ATTRIBUTES:
            raise InvalidInput(
                f"search key '{text}' is not known: use metrics.<key>, params.<key>, "
                f"tags.<key> or one of attributes.{{{', '.join(sorted(_ATTRIBUTES))}}}"
            )
    return SearchKey(entity, key)


def _split_and(text: str) -> list[str]:
    clauses: list[str] = []
    current: list[str] = []
    quote, i = "", 0
    while i < len(text):
        ch = text[i]
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "`'\"":
            quote = ch
        elif text[i : i + 5].lower() == " and " or (
            text[i : i + 4].lower() == "and " and i > 0 and text[i - 1].isspace()
        ):
            clauses.append("".join(current))
            current, i = [], i + (5 if ch == " " else 4)
            continue
        current.append(ch)
        i += 1
    if quote:
        raise InvalidInput("search filter has an unclosed quote")
    clauses.append("".join(current))
    return [clause for clause in clauses if clause.strip()]


@lru_cache(maxsize=256)
def _like(pattern: str, flags: int) -> re.Pattern[str]:
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile(f"^{regex}$", flags | re.DOTALL)


def ilike(value: str | None, pattern: str | None) -> bool | None:
    """``value ILIKE pattern`` with Python's Unicode case folding (SQLite's own LIKE folds
    ASCII only); registered as the SQL function ``modelpack_ilike`` on SQLite."""
    if value is None or pattern is None:
        return None
    return _like(pattern, re.IGNORECASE).match(value) is not None


Predicate = Callable[[Run], bool]


_NUMERIC_OPS: dict[str, Callable[[float, float], bool]] = {
    "=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}  # fmt: skip
_STRING_OPS = ("=", "!=", "LIKE", "ILIKE", "NOT LIKE", "NOT ILIKE")


def _clause(key: SearchKey, op: str, raw: str) -> Clause:
    op = " ".join(op.upper().split())
    if key.numeric:
        if not _NUMBER.match(raw):
            raise InvalidInput(
                f"'{key.entity}.{key.key}' compares with a number, got {raw[:20]!r}; "
                "write e.g. metrics.rmse < 0.5"
            )
        if op not in _NUMERIC_OPS:
            raise InvalidInput(f"operator {op} does not apply to numbers; use =, !=, <, <=, >, >=")
        return Clause(key, op, float(raw))
    if len(raw) < 2 or raw[0] != raw[-1] or raw[0] not in "'\"":
        raise InvalidInput(
            f"'{key.entity}.{key.key}' compares with a quoted string; write e.g. "
            f"{key.entity}.{key.key} = 'value'"
        )
    if op not in _STRING_OPS:
        raise InvalidInput(f"operator {op} does not apply to strings; use =, !=, LIKE or ILIKE")
    return Clause(key, op, raw[1:-1])


def _predicate(clause: Clause) -> Predicate:
    key, op, target = clause.key, clause.op, clause.value
    if isinstance(target, float):
        compare = _NUMERIC_OPS[op]
        return lambda run: (v := key.get(run)) is not None and compare(float(v), target)
    if op in ("LIKE", "ILIKE", "NOT LIKE", "NOT ILIKE"):
        pattern = _like(target, re.IGNORECASE if "ILIKE" in op else 0)
        negate = op.startswith("NOT")
        return lambda run: (
            (v := key.get(run)) is not None and (bool(pattern.match(str(v))) != negate)
        )
    if op == "=":
        return lambda run: (v := key.get(run)) is not None and str(v) == target
    return lambda run: (v := key.get(run)) is not None and str(v) != target


def parse_clauses(filter_string: str | None) -> list[Clause]:
    """The clauses of an MLflow filter string, joined by AND (empty: none)."""
    if not filter_string or not filter_string.strip():
        return []
    clauses = []
    for text in _split_and(filter_string):
        match = _CLAUSE.match(text)
        if not match:
            raise InvalidInput(
                "search filter clause must look like `<metrics|params|tags>.<key> <op> <value>`, "
                f"got a clause of {len(text)} characters"
            )
        clauses.append(_clause(_parse_key(match["ident"]), match["op"], match["value"]))
    return clauses


def parse_order(order_by: Sequence[str] | None) -> list[tuple[SearchKey, bool]]:
    """``order_by`` entries as (key, descending), first entry first."""
    order = []
    for clause in order_by or []:
        parts = clause.strip().rsplit(None, 1)
        descending = len(parts) == 2 and parts[1].upper() == "DESC"
        text = parts[0] if len(parts) == 2 and parts[1].upper() in ("ASC", "DESC") else clause
        order.append((_parse_key(text), descending))
    return order


def parse_filter(filter_string: str | None) -> Predicate:
    """A predicate over runs from an MLflow filter string (empty: every run).

    The reference semantics: :mod:`modelpack.tracking.stores.sql.search` runs the same
    clauses in the database and is tested against this.
    """
    predicates = [_predicate(clause) for clause in parse_clauses(filter_string)]
    return lambda run: all(predicate(run) for predicate in predicates)


def order_runs(runs: list[Run], order_by: Sequence[str] | None) -> list[Run]:
    """``runs`` ordered by ``order_by`` (default newest first); missing values last."""
    ordered = sorted(runs, key=lambda run: (-run.info.start_time, run.info.run_id))
    for key, descending in reversed(parse_order(order_by)):

        def value(run: Run, key: SearchKey = key) -> str | float | int | None:
            found = key.get(run)
            if isinstance(found, float) and math.isnan(found):
                return None
            if key.entity == "params" and found is not None:
                try:
                    return float(found)
                except ValueError:
                    return found
            return found

        present = [run for run in ordered if value(run) is not None]
        missing = [run for run in ordered if value(run) is None]
        try:
            present.sort(key=value, reverse=descending)  # type: ignore[arg-type]
        except TypeError:  # mixed numbers and text: compare as text
            present.sort(key=lambda run: str(value(run)), reverse=descending)
        ordered = present + missing
    return ordered


__all__ = [
    "Clause",
    "SearchKey",
    "ilike",
    "order_runs",
    "parse_clauses",
    "parse_filter",
    "parse_order",
]
