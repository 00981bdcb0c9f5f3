"""``search_runs`` filters and ordering, MLflow's syntax plus ``OR`` and parentheses.

A filter compares metrics, params, tags and attributes, joined by ``and`` and ``or``
(``and`` binds tighter; parentheses group): ``metrics.rmse < 0.5 and (params.alpha IN
('0.1', '1') or tags.team != 'x') and attributes.status = 'FINISHED'``. The grammar is
:mod:`modelpack.tracking.search_grammar`; this module gives it meaning. A run that lacks
a key fails every comparison on it (``!=`` and ``NOT IN`` too); a NaN metric equals
nothing and differs from everything. Ordering: ``["metrics.rmse DESC", "params.alpha"]``;
runs missing the key sort last either way.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from modelpack.tracking.entities import Run
from modelpack.tracking.search_grammar import NULL_OPS, And, Clause, Filter, Or, parse_expression
from modelpack.tracking.search_keys import SearchKey, parse_key


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
#: a key's value on a run (``SearchKey.get``) or on an experiment; None: missing
Getter = Callable[[SearchKey, Any], "str | float | int | None"]


_NUMERIC_OPS: dict[str, Callable[[float, float], bool]] = {
    "=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}  # fmt: skip


def _number_predicate(
    key: SearchKey, op: str, target: float | tuple[float, ...], get: Getter
) -> Callable[[Any], bool]:
    if isinstance(target, tuple):
        # IN is = with any value, NOT IN is != with every value (NaN: equal to none)
        targets = [t for t in target if not math.isnan(t)]
        if op == "IN":
            return lambda item: (v := get(key, item)) is not None and float(v) in targets
        return lambda item: (v := get(key, item)) is not None and float(v) not in targets
    compare = _NUMERIC_OPS[op]
    return lambda item: (v := get(key, item)) is not None and compare(float(v), target)


def _text_predicate(
    key: SearchKey, op: str, target: str | tuple[str, ...], get: Getter
) -> Callable[[Any], bool]:
    if isinstance(target, tuple):
        negate = op == "NOT IN"
        targets = set(target)
        return lambda item: (v := get(key, item)) is not None and ((str(v) in targets) != negate)
    if op in ("LIKE", "ILIKE", "NOT LIKE", "NOT ILIKE"):
        pattern = _like(target, re.IGNORECASE if "ILIKE" in op else 0)
        negate = op.startswith("NOT")
        return lambda item: (
            (v := get(key, item)) is not None and (bool(pattern.match(str(v))) != negate)
        )
    if op == "=":
        return lambda item: (v := get(key, item)) is not None and str(v) == target
    return lambda item: (v := get(key, item)) is not None and str(v) != target


def tree_predicate(tree: Filter, get: Getter) -> Callable[[Any], bool]:
    """Whether an item (a run, an experiment) satisfies ``tree``, reading keys with ``get``."""
    if isinstance(tree, (And, Or)):
        terms = [tree_predicate(term, get) for term in tree.terms]
        if isinstance(tree, And):
            return lambda item: all(term(item) for term in terms)
        return lambda item: any(term(item) for term in terms)
    if tree.op in NULL_OPS:
        missing, key = tree.op == "IS NULL", tree.key
        return lambda item: (get(key, item) is None) == missing
    if tree.key.numeric:
        return _number_predicate(tree.key, tree.op, tree.value, get)  # type: ignore[arg-type]
    return _text_predicate(tree.key, tree.op, tree.value, get)  # type: ignore[arg-type]


def parse_order(order_by: Sequence[str] | None) -> list[tuple[SearchKey, bool]]:
    """``order_by`` entries as (key, descending), first entry first."""
    order = []
    for clause in order_by or []:
        parts = clause.strip().rsplit(None, 1)
        descending = len(parts) == 2 and parts[1].upper() == "DESC"
        text = parts[0] if len(parts) == 2 and parts[1].upper() in ("ASC", "DESC") else clause
        order.append((parse_key(text), descending))
    return order


def parse_filter(filter_string: str | None) -> Predicate:
    """A predicate over runs from an MLflow filter string (empty: every run).

    The reference semantics: :mod:`modelpack.tracking.stores.sql.search` runs the same
    filter in the database and is tested against this.
    """
    tree = parse_expression(filter_string)
    return (lambda run: True) if tree is None else tree_predicate(tree, SearchKey.get)


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
    "parse_filter",
    "parse_order",
    "tree_predicate",
]
