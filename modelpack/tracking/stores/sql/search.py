"""``search_runs`` in the database: the filter, the order and the page run as one query.

The filter and ``order_by`` are parsed by :mod:`modelpack.tracking.search_grammar`
(:mod:`modelpack.tracking.search`'s Python predicate and
:func:`~modelpack.tracking.search.order_runs` are the reference semantics) and compiled
here to SQL on the store's tables: a metric is its latest point (highest step, then
timestamp), a NaN metric matches only ``!=`` and ``NOT IN`` and sorts last, like a
missing key; params, tags and string attributes compare as text (code point order:
``COLLATE "C"`` on PostgreSQL), ``LIKE`` is case-sensitive on both backends (``GLOB`` on
SQLite) and ``ILIKE`` folds case as Python does (a registered function on SQLite, whose
own LIKE folds ASCII only). Values are always parameters, never SQL text.

The query is ``SELECT * FROM (SELECT <run columns>, <latest value of each metric named>
FROM runs r WHERE ...) s WHERE ...``: the filter's top-level AND terms that name no
metric sit in the inner WHERE, the others (an OR across a metric and a param, say) in
the outer one, with params and tags as ``EXISTS`` on ``s.run_id``. Only the page of
matching runs is then loaded whole.

Ordering by a param keeps Python's rule (numbers when every present value reads as
one, text otherwise), which SQL cannot say: the database filters, the sort keys of the
matching runs come back in one query, and Python orders them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from modelpack.tracking.entities import Run, RunData, RunInfo
from modelpack.tracking.search import SearchKey, order_runs, parse_order
from modelpack.tracking.search_grammar import (
    NULL_OPS,
    And,
    Clause,
    Filter,
    Or,
    clauses,
    parse_expression,
)
from modelpack.tracking.stores.sql.engine import Store
from modelpack.tracking.stores.sql.runs import load_runs

_Sql = tuple[str, list[object]]  # a condition and its parameters, in order
_RUN_ID = SearchKey("attributes", "run_id")
_EXPERIMENT_IN = "r.experiment_id IN"
_PAGE_LOAD = 500  # run ids per load_runs query
_EXPERIMENT_ID = re.compile(r"-?[0-9]{1,10}")
_LATEST_METRIC = (
    "(SELECT m.value FROM metrics m WHERE m.run_id = r.run_id AND m.key = ? "
    "ORDER BY m.step DESC, m.timestamp DESC, m.value DESC NULLS FIRST LIMIT 1)"
)
_HAS_METRIC = "EXISTS (SELECT 1 FROM metrics m WHERE m.run_id = s.run_id AND m.key = ?)"
_TAG = "(SELECT t.value FROM tags t WHERE t.run_id = r.run_id AND t.key = ?)"
_PARAM = "(SELECT p.value FROM params p WHERE p.run_id = r.run_id AND p.key = ?)"
_ATTRIBUTE_SQL = {
    "run_id": "r.run_id",
    "run_name": "r.run_name",
    "status": "r.status",
    "start_time": "r.start_time",
    "end_time": "r.end_time",
    "experiment_id": "CAST(r.experiment_id AS TEXT)",
}
_INFO = (
    "r.run_id AS run_id, r.run_name AS run_name, CAST(r.experiment_id AS TEXT) AS experiment_id, "
    "r.status AS status, r.start_time AS start_time, r.end_time AS end_time"
)


def _glob(pattern: str) -> str:
    """A LIKE pattern (no escape character) as a case-sensitive SQLite GLOB pattern."""
    special = {"%": "*", "_": "?", "*": "[*]", "?": "[?]", "[": "[[]"}
    return "".join(special.get(ch, ch) for ch in pattern)


class _Query:
    """Builds the one query: inner SELECT over ``runs r``, outer filter and order on ``s``."""

    def __init__(self, dialect: str, stages: Sequence[str] = ("active",)) -> None:
        self.dialect = dialect
        self.columns: list[str] = []
        self.column_params: list[object] = []
        self.inner: list[str] = [f"r.lifecycle_stage IN ({','.join('?' * len(stages))})"]
        self.inner_params: list[object] = list(stages)
        self.outer: list[str] = []
        self.outer_params: list[object] = []
        self._metric_columns: dict[str, str] = {}

    def metric(self, key: str) -> str:
        """The column holding ``key``'s latest value (NULL: missing or NaN)."""
        if key not in self._metric_columns:
            name = f"c{len(self.columns)}"
            self.columns.append(f"{_LATEST_METRIC} AS {name}")
            self.column_params.append(key)
            self._metric_columns[key] = name
        return f"s.{self._metric_columns[key]}"

    def text_column(self, sql: str, key: str | None) -> str:
        name = f"c{len(self.columns)}"
        self.columns.append(f"{sql} AS {name}")
        if key is not None:
            self.column_params.append(key)
        return f"s.{name}"

    def text_match(self, column: str, op: str, target: str | tuple[str, ...]) -> _Sql:
        """SQL for ``column op target`` on text."""
        if isinstance(target, tuple):
            return f"{column} {op} ({','.join('?' * len(target))})", list(target)
        if op in ("=", "!="):
            return f"{column} {op} ?", [target]
        negate = "NOT " if op.startswith("NOT") else ""
        if self.dialect == "sqlite":
            if "ILIKE" in op:
                return f"{negate}modelpack_ilike({column}, ?)", [target]
            return f"{negate}({column} GLOB ?)", [_glob(target)]
        like = "ILIKE" if "ILIKE" in op else "LIKE"
        return f"{negate}({column} {like} ? ESCAPE '')", [target]

    def add(self, tree: Filter) -> None:
        """AND ``tree`` to the query: each of its top-level terms that names no metric is
        decided in the inner WHERE over ``runs r``, the others in the outer WHERE over
        ``s``, where the metrics' latest values are columns."""
        for term in tree.terms if isinstance(tree, And) else (tree,):
            if isinstance(term, Clause) and term.key == _RUN_ID and term.op in ("=", "IN"):
                # a few runs by id: SQLite's planner, without statistics, would rather
                # scan the experiment's index; unary + takes that index out of its choice
                self.inner = [f"+{c}" if c.startswith(_EXPERIMENT_IN) else c for c in self.inner]
            if any(clause.key.entity == "metrics" for clause in clauses(term)):
                sql, params = self.compile(term, "s")
                self.outer.append(sql)
                self.outer_params += params
            else:
                sql, params = self.compile(term, "r")
                self.inner.append(sql)
                self.inner_params += params

    def compile(self, tree: Filter, alias: str) -> _Sql:
        """One SQL condition for ``tree`` on the run row ``alias`` (``r`` inner, ``s`` outer;
        metrics only on ``s``)."""
        if isinstance(tree, (And, Or)):
            parts = [self.compile(term, alias) for term in tree.terms]
            joiner = " AND " if isinstance(tree, And) else " OR "
            return f"({joiner.join(sql for sql, _ in parts)})", [p for _, ps in parts for p in ps]
        key, op, target = tree.key, tree.op, tree.value
        if op in NULL_OPS:
            return self._presence(key, alias, op == "IS NOT NULL")
        if key.entity == "metrics":
            return self._metric(key.key, op, target)  # type: ignore[arg-type]
        if key.entity in ("params", "tags"):
            condition, params = self.text_match("x.value", op, target)  # type: ignore[arg-type]
            return (
                f"EXISTS (SELECT 1 FROM {key.entity} x WHERE x.run_id = {alias}.run_id "
                f"AND x.key = ? AND {condition})",
                [key.key, *params],
            )
        column = _ATTRIBUTE_SQL[key.key] if alias == "r" else f"s.{key.key}"
        if key.numeric:
            return _number(column, op, target, f"{column} IS NOT NULL")  # type: ignore[arg-type]
        return self.text_match(column, op, target)  # type: ignore[arg-type]

    def _presence(self, key: SearchKey, alias: str, present: bool) -> _Sql:
        """Whether the run has ``key`` at all (a NaN metric has it)."""
        negate = "" if present else "NOT "
        if key.entity == "metrics":
            return f"{negate}{_HAS_METRIC}", [key.key]
        if key.entity in ("params", "tags"):
            return (
                f"{negate}EXISTS (SELECT 1 FROM {key.entity} x WHERE x.run_id = {alias}.run_id "
                "AND x.key = ?)",
                [key.key],
            )
        column = _ATTRIBUTE_SQL[key.key] if alias == "r" else f"s.{key.key}"
        return f"{column} IS {'NOT ' if present else ''}NULL", []

    def _metric(self, key: str, op: str, target: float | tuple[float, ...]) -> _Sql:
        column = self.metric(key)
        if op in ("!=", "NOT IN"):
            # NaN equals nothing and differs from everything, a stored NaN (NULL) too; a
            # missing metric differs from nothing
            values = _finite(target)
            if not values:
                return _HAS_METRIC, [key]
            differs, params = _number(column, op, target, "")
            return f"({_HAS_METRIC} AND ({column} IS NULL OR {differs}))", [key, *params]
        return _number(column, op, target, "")

    def order_column(self, key: SearchKey) -> tuple[str, bool]:
        """(column, compared as text) for an ``order_by`` key other than a param."""
        if key.entity == "metrics":
            return self.metric(key.key), False
        if key.entity == "tags":
            return self.text_column(_TAG, key.key), True
        if key.key in ("start_time", "end_time"):
            return self.text_column(_ATTRIBUTE_SQL[key.key], None), False
        return self.text_column(_ATTRIBUTE_SQL[key.key], None), True

    def sql(self, order: list[str]) -> tuple[str, list[object]]:
        columns = "".join(f", {column}" for column in self.columns)
        inner = f"SELECT {_INFO}{columns} FROM runs r WHERE {' AND '.join(self.inner)}"
        outer = f" WHERE {' AND '.join(self.outer)}" if self.outer else ""
        order_sql = f" ORDER BY {', '.join(order)}" if order else ""
        text = f"SELECT * FROM ({inner}) s{outer}{order_sql}"
        return text, self.column_params + self.inner_params + self.outer_params


def _finite(target: float | tuple[float, ...]) -> list[float]:
    return [t for t in (target if isinstance(target, tuple) else (target,)) if not math.isnan(t)]


def _number(column: str, op: str, target: float | tuple[float, ...], present: str) -> _Sql:
    """``column op target`` on numbers; NaN targets equal nothing, so ``!=`` or ``NOT IN``
    with only NaN is ``present`` (the column is set)."""
    values = _finite(target)
    if not values:
        return (present, []) if op in ("!=", "NOT IN") else ("1 = 0", [])
    params: list[object] = list(values)
    if op in ("IN", "NOT IN"):
        return f"{column} {op} ({','.join('?' * len(values))})", params
    return f"{column} {op} ?", params


def _experiments(query: _Query, experiment_ids: Sequence[str] | None) -> bool:
    if experiment_ids is None:
        return True
    # experiment ids are 32-bit integers: any other text names no experiment (and would
    # be a type error on PostgreSQL)
    ids = [int(i) for i in map(str, experiment_ids) if _EXPERIMENT_ID.fullmatch(i)]
    ids = [i for i in ids if -(2**31) <= i < 2**31]
    if not ids:
        return False
    query.inner.append(f"{_EXPERIMENT_IN} ({','.join('?' * len(ids))})")
    query.inner_params += ids
    return True


def _load_page(store: Store, run_ids: list[str]) -> list[Run]:
    found: dict[str, Run] = {}
    for start in range(0, len(run_ids), _PAGE_LOAD):
        chunk = run_ids[start : start + _PAGE_LOAD]
        where = f"run_id IN ({','.join('?' * len(chunk))})"
        found.update((run.info.run_id, run) for run in load_runs(store, where, chunk))
    return [found[run_id] for run_id in run_ids if run_id in found]


def search_runs(
    store: Store,
    experiment_ids: Sequence[str] | None = None,
    filter_string: str = "",
    order_by: Sequence[str] | None = None,
    max_results: int = 1000,
    offset: int = 0,
    stages: Sequence[str] = ("active",),
) -> list[Run]:
    """Runs of ``experiment_ids`` (all, if None) in lifecycle ``stages`` (active ones by
    default) matching ``filter_string``, ordered by ``order_by`` (newest first by
    default), ``max_results`` from ``offset``.

    >>> search_runs(store, ["0"], "metrics.rmse < 1", ["metrics.rmse"], 10)  # doctest: +SKIP
    """
    tree = parse_expression(filter_string)
    order = parse_order(order_by)
    limit, skip = max(0, int(max_results)), max(0, int(offset))
    query = _Query(store.dialect, stages)
    if limit == 0 or not _experiments(query, experiment_ids):
        return []
    if tree is not None:
        query.add(tree)
    if any(key.entity == "params" for key, _ in order):
        return _search_ordered_in_python(store, query, order, order_by, limit, skip)
    collate = ' COLLATE "C"' if store.dialect == "postgresql" else ""
    terms = []
    for key, descending in order:
        column, as_text = query.order_column(key)
        direction = " DESC" if descending else ""
        terms.append(f"({column} IS NULL), {column}{collate if as_text else ''}{direction}")
    terms.append("s.start_time DESC, s.run_id")
    sql, params = query.sql(terms)
    rows = store.read(f"{sql} LIMIT ? OFFSET ?", [*params, limit, skip])
    return _load_page(store, [row[0] for row in rows])


def count_runs(
    store: Store, experiment_ids: Sequence[str] | None = None, filter_string: str = ""
) -> int:
    """How many active runs of ``experiment_ids`` (all, if None) match ``filter_string``.

    >>> count_runs(store, ["0"], "metrics.rmse < 1")  # doctest: +SKIP
    12
    """
    tree = parse_expression(filter_string)
    query = _Query(store.dialect)
    if not _experiments(query, experiment_ids):
        return 0
    if tree is not None:
        query.add(tree)
    sql, params = query.sql([])
    return int(store.read(f"SELECT COUNT(*) FROM ({sql}) AS matched", params)[0][0])


def _search_ordered_in_python(
    store: Store,
    query: _Query,
    order: list[tuple[SearchKey, bool]],
    order_by: Sequence[str] | None,
    limit: int,
    skip: int,
) -> list[Run]:
    # only the sort keys of the matching runs travel; order_runs sorts them as it always has
    keys: list[SearchKey] = []
    columns: list[str] = []
    for key, _ in order:
        if key.entity in ("params", "tags", "metrics") and key not in keys:
            keys.append(key)
            if key.entity == "metrics":
                columns.append(query.metric(key.key))
            else:
                columns.append(
                    query.text_column(_PARAM if key.entity == "params" else _TAG, key.key)
                )
    text, params = query.sql([])
    slim = []
    for row in store.read(text, params):
        by_key = dict(zip(keys, (getattr(row, c.removeprefix("s.")) for c in columns), strict=True))
        data = RunData(
            params={k.key: v for k, v in by_key.items() if k.entity == "params" and v is not None},
            tags={k.key: v for k, v in by_key.items() if k.entity == "tags" and v is not None},
            metrics={
                k.key: math.nan if v is None else float(v)
                for k, v in by_key.items()
                if k.entity == "metrics"
            },
        )
        info = RunInfo(
            run_id=row.run_id,
            run_name=row.run_name,
            experiment_id=row.experiment_id,
            status=row.status,
            start_time=row.start_time,
            end_time=row.end_time,
            artifact_uri="",
            lifecycle_stage="active",
        )
        slim.append(Run(info, data))
    ordered = order_runs(slim, order_by)[skip : skip + limit]
    return _load_page(store, [run.info.run_id for run in ordered])


__all__ = ["count_runs", "search_runs"]
