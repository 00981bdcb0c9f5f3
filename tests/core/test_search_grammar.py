"""The ``search_runs`` filter grammar: precedence, quoting, IN lists, errors and limits.

The database side is held to the same meaning by test_search_sql.py's generated filters.
"""

from __future__ import annotations

import math

import pytest

from modelpack.errors import InvalidInput
from modelpack.tracking.entities import Run, RunData, RunInfo
from modelpack.tracking.search import parse_filter, parse_order
from modelpack.tracking.search_grammar import (
    MAX_CLAUSES,
    MAX_DEPTH,
    MAX_IN_VALUES,
    And,
    Clause,
    Or,
    parse_expression,
)
from modelpack.tracking.search_keys import SearchKey

A = Clause(SearchKey("metrics", "a"), "<", 1.0)
B = Clause(SearchKey("params", "b"), "=", "x")
C = Clause(SearchKey("tags", "c"), "!=", "y")


def test_and_binds_tighter_than_or() -> None:
    assert parse_expression("metrics.a < 1 or params.b = 'x' and tags.c != 'y'") == Or(
        (A, And((B, C)))
    )
    assert parse_expression("metrics.a < 1 and params.b = 'x' or tags.c != 'y'") == Or(
        (And((A, B)), C)
    )


def test_parentheses_group() -> None:
    assert parse_expression("(metrics.a < 1 or params.b = 'x') and tags.c != 'y'") == And(
        (Or((A, B)), C)
    )
    assert parse_expression("((metrics.a < 1))") == A
    assert parse_expression("metrics.a<1 AND(params.b='x'OR tags.c!='y')") == And((A, Or((B, C))))


def test_keywords_are_case_insensitive_and_only_outside_quotes() -> None:
    assert parse_expression("metrics.a < 1 Or params.b = 'x' aNd tags.c != 'y'") == Or(
        (A, And((B, C)))
    )
    tree = parse_expression("params.`x or y` = 'a and b' AND tags.`in` IN ('or', 'and)', 'NOT')")
    assert tree == And(
        (
            Clause(SearchKey("params", "x or y"), "=", "a and b"),
            Clause(SearchKey("tags", "in"), "IN", ("or", "and)", "NOT")),
        )
    )
    assert parse_expression('params."my key" = "it\'s"') == Clause(
        SearchKey("params", "my key"), "=", "it's"
    )


def test_in_lists_on_params_tags_attributes_and_numbers() -> None:
    assert parse_expression("run_id in ('a', 'b')") == Clause(
        SearchKey("attributes", "run_id"), "IN", ("a", "b")
    )
    assert parse_expression("attributes.status NOT IN ('FAILED')") == Clause(
        SearchKey("attributes", "status"), "NOT IN", ("FAILED",)
    )
    assert parse_expression("metrics.a not in (1, -2.5, 1e3)") == Clause(
        SearchKey("metrics", "a"), "NOT IN", (1.0, -2.5, 1000.0)
    )
    assert parse_expression("end_time IN (5)") == Clause(
        SearchKey("attributes", "end_time"), "IN", (5.0,)
    )


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("metrics.a < 1 and", "at position 18, expected a key"),
        ("metrics.a < 1 or", "at position 17, expected a key"),
        ("or metrics.a < 1", "at position 1, expected a key"),
        ("metrics.a < 1 and or params.b = 'x'", "at position 19, expected a key"),
        ("(metrics.a < 1", "expected ')' to close the '(' at position 1"),
        ("((metrics.a < 1)", "expected ')' to close the '(' at position 1"),
        ("metrics.a < 1)", "the ')' at position 14 closes no '('"),
        ("()", "at position 2, expected a key"),
        ("params.b IN ()", "the IN list at position 13 is empty"),
        ("params.b IN 'x'", "at position 13, expected '(' to open the IN list"),
        ("params.b IN ('x' 'y')", "at position 18, expected ',' or ')' in the IN list"),
        ("params.b IN ('x',)", "at position 18, expected a quoted string in the IN list"),
        (
            "metrics.a IN (1, 'x')",
            "at position 18, expected a number in the IN list (metrics compare with numbers)",
        ),
        (
            "start_time IN ('1')",
            "expected a number in the IN list (attributes.start_time compares with",
        ),
        (
            "params.b IN (1)",
            "at position 14, expected a quoted string in the IN list (params compare",
        ),
        ("metrics.a LIKE 1", "operator LIKE at position 11 does not apply to numbers"),
        ("params.b < 'x'", "operator < at position 10 does not apply to strings"),
        ("params.b NOT 'x'", "at position 10, expected an operator"),
        ("params.b = x", "at position 12, expected a quoted string"),
        ("metrics.a < 'x'", "at position 13, expected a number (metrics compare"),
        ("end_time = 'x'", "expected a number (attributes.end_time compares with numbers)"),
        ("status = 1", "expected a quoted string (attributes.status compares with strings)"),
        ("metrics.a < 1 params.b = 'x'", "at position 15, expected AND, OR or the end"),
        ("params.b = 'x", "a quote that is never closed at position 12"),
        ("metrics.a ! 1", "character '!' at position 11"),
        ("foo = 'x'", "the key at position 1 is not known; use metrics.<key>"),
        ("metrics.a < 1 or params.b IN ('x') and tags.c >= 'y'", "operator >= at position 47"),
    ],
)
def test_errors_say_what_was_expected_and_where(filter_string: str, expected: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_filter(filter_string)
    assert expected in raised.value.message
    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"


def test_errors_quote_none_of_the_filter() -> None:
    secret = "s3cr3t"
    for filter_string in (
        f"metrics.a < '{secret}'",
        f"params.{secret} < 1",
        f"params.b = {secret}",
        f"params.b IN ('x' {secret})",
        f"metrics.{secret} = 'x'",
        f"{secret} = 'x'",
        f"metrics.a < 1 {secret}",
        f"(metrics.a < 1 {secret}",
        f"params.b = '{secret}",
    ):
        with pytest.raises(InvalidInput) as raised:
            parse_filter(filter_string)
        assert secret not in raised.value.message, filter_string


def test_order_by_errors_quote_at_most_twenty_characters() -> None:
    secret = "s3cr3t-" * 10
    with pytest.raises(InvalidInput) as raised:
        parse_order([f"{secret} DESC"])
    assert "is not known" in raised.value.message
    assert secret[:21] not in raised.value.message


def test_limits_on_comparisons_depth_and_in_values() -> None:
    at_most = " or ".join(["metrics.a < 1"] * MAX_CLAUSES)
    assert isinstance(parse_expression(at_most), Or)
    with pytest.raises(InvalidInput, match=f"more than {MAX_CLAUSES} comparisons"):
        parse_expression(f"{at_most} or metrics.a < 1")
    deepest = "(" * MAX_DEPTH + "metrics.a < 1" + ")" * MAX_DEPTH
    assert parse_expression(deepest) == A
    with pytest.raises(InvalidInput, match=f"more than {MAX_DEPTH} deep"):
        parse_expression(f"({deepest})")
    # far deeper than Python's recursion limit: refused, not a RecursionError
    with pytest.raises(InvalidInput, match="deep"):
        parse_expression("(" * 100_000 + "metrics.a < 1" + ")" * 100_000)
    values = ", ".join(f"'{i}'" for i in range(MAX_IN_VALUES))
    assert len(parse_expression(f"params.b IN ({values})").value) == MAX_IN_VALUES  # type: ignore[union-attr, arg-type]
    with pytest.raises(InvalidInput, match=f"more than {MAX_IN_VALUES} values"):
        parse_expression(f"params.b IN ({values}) or tags.c IN ('x')")


def _run(metrics: dict[str, float], params: dict[str, str], status: str = "FINISHED") -> Run:
    info = RunInfo(
        run_id="r1",
        run_name="one",
        experiment_id="0",
        status=status,
        start_time=1,
        end_time=None,
        artifact_uri="",
        lifecycle_stage="active",
    )
    return Run(info, RunData(metrics=metrics, params=params, tags={}))


def test_in_and_not_in_keep_the_missing_key_and_nan_rules() -> None:
    nan_run = _run({"m": math.nan}, {"p": "a"})
    one_run = _run({"m": 1.0}, {})
    assert parse_filter("metrics.m NOT IN (1, 2)")(nan_run)  # NaN differs from everything
    assert not parse_filter("metrics.m IN (1, nan)")(nan_run)  # and equals nothing
    assert parse_filter("metrics.m IN (1, nan)")(one_run)
    assert not parse_filter("metrics.gone NOT IN (1)")(one_run)  # missing fails every test
    assert not parse_filter("params.p NOT IN ('b')")(one_run)
    assert parse_filter("params.p NOT IN ('b')")(nan_run)
    assert not parse_filter("end_time NOT IN (1)")(one_run)  # a running run has no end
    assert parse_filter("params.p = 'zz' or metrics.m in (1) and status IN ('FINISHED')")(one_run)
    assert not parse_filter("(params.p = 'zz' or metrics.m in (1)) and status = 'FAILED'")(one_run)


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("tags.x IS", "expected NULL after IS"),
        ("tags.x IS NOT 'a'", "expected NULL after IS"),
        ("tags.x IS 'a'", "expected NULL after IS"),
        ("tags.x NULL", "expected an operator"),
    ],
)
def test_is_null_errors(filter_string: str, expected: str) -> None:
    with pytest.raises(InvalidInput, match=expected):
        parse_expression(filter_string)


def test_is_null_parses_on_every_kind_of_key() -> None:
    for key in ("metrics.m", "params.p", "tags.`a.b`", "end_time", "run_name"):
        for op, text in (("IS NULL", "is null"), ("IS NOT NULL", "IS NOT NULL")):
            tree = parse_expression(f"{key} {text}")
            assert isinstance(tree, Clause) and tree.op == op
    keep = parse_filter("tags.t IS NULL")
    assert keep is not None
