"""``search_runs`` in SQL against the Python reference (``parse_filter`` + ``order_runs``).

A seeded generator writes runs with awkward data (NaN and infinite metrics, several
points per key with ties on step and time, numeric and text params, LIKE
metacharacters in values, runs without a key) and then asks many generated filters,
orders and pages; every answer of the database must equal the reference's, on SQLite
and on PostgreSQL.
"""

from __future__ import annotations

import math
import random

import pytest

from modelpack.errors import InvalidInput
from modelpack.tracking import Client, Metric
from modelpack.tracking.search import order_runs, parse_filter
from modelpack.tracking.stores.sql.runs import load_runs
from modelpack.tracking.stores.sql.search import count_runs, search_runs

SEED = 20261202
NUMBERS = ["0", "0.5", "-1", "2.5", "1e3", "inf", "-inf", "nan", "3"]
TEXTS = [
    "a",
    "A",
    "ab",
    "a%b",
    "a_b",
    "x*y",
    "q?",
    "[z]",
    "1",
    "10",
    "2.0",
    "-3",
    "",
    "é",
    "É",
    "b\\c",
]
PATTERNS = ["a%", "A%", "%b", "_", "a_b", "%%", "x*%", "q_", "[%", "%\\%", "1%", "%", "É%"]
STRING_OPS = ["=", "!=", "LIKE", "ILIKE", "NOT LIKE", "NOT ILIKE", "like", "Not Ilike"]
NUMERIC_OPS = ["=", "!=", "<", "<=", ">", ">="]


@pytest.fixture
def tracking_uri(any_tracking_uri: str) -> str:
    return any_tracking_uri


def _make_runs(client: Client, rng: random.Random) -> list[str]:
    experiments = ["0", client.create_experiment("second")]
    store = client.store
    ids = []
    for i in range(48):
        run = client.create_run(rng.choice(experiments), run_name=rng.choice(["r1", "r2", "R1x"]))
        run_id = run.info.run_id
        ids.append(run_id)
        points = []
        for key in ("m1", "m2"):
            if rng.random() < 0.2:
                continue
            for _ in range(rng.randint(1, 3)):
                value = rng.choice([0.0, 0.5, -1.0, 2.5, 3.0, 1e3, math.inf, -math.inf, math.nan])
                # steps and times collide on purpose: the latest point needs a tie-break
                points.append(Metric(key, value, rng.choice([1, 2]), rng.choice([0, 1])))
        params = {k: rng.choice(TEXTS) for k in ("p1", "p2") if rng.random() < 0.8}
        tags = {k: rng.choice(TEXTS) for k in ("t1", "t2") if rng.random() < 0.8}
        client.log_batch(run_id, points, params, tags)
        if rng.random() < 0.6:
            client.set_terminated(
                run_id, rng.choice(["FINISHED", "FAILED"]), end_time=rng.choice([5, 7])
            )
        store.execute(
            "UPDATE runs SET start_time = ? WHERE run_id = ?", (rng.choice([1, 2, 3, i]), run_id)
        )
    return ids


def _quoted(text: str) -> str:
    return f"'{text}'"


def _clause(rng: random.Random, ids: list[str]) -> str:
    kind = rng.choice(["metric", "param", "tag", "attr_text", "attr_number"])
    if kind == "metric":
        key = rng.choice(["metrics.m1", "metric.m2", "metrics.`m1`", "metrics.none"])
        return f"{key} {rng.choice(NUMERIC_OPS)} {rng.choice(NUMBERS)}"
    if kind == "attr_number":
        key = rng.choice(["attributes.start_time", "end_time", "run.end_time"])
        return f"{key} {rng.choice(NUMERIC_OPS)} {rng.choice(['1', '2', '5', '7', 'nan', '3.5'])}"
    op = rng.choice(STRING_OPS)
    values = PATTERNS + TEXTS if "LIKE" in op.upper() else TEXTS
    if kind == "attr_text":
        key = rng.choice(["attributes.status", "run_name", "attributes.experiment_id", "run_id"])
        values = values + ["FINISHED", "RUNNING", "r%", "R1%", "0", ids[0][:4] + "%"]
        return f"{key} {op} {_quoted(rng.choice(values))}"
    key = rng.choice(["params.p1", "param.p2", "tags.t1", "tag.`t2`", "params.none"])
    if kind == "tag":
        key = key.replace("param", "tag").replace("p1", "t1").replace("p2", "t2")
    return f"{key} {op} {_quoted(rng.choice(values))}"


def _in_clause(rng: random.Random, ids: list[str], kind: str = "") -> str:
    op = rng.choice(["IN", "NOT IN", "in", "Not In"])
    kind = kind or rng.choice(["metric", "attr_number", "text", "run_id"])
    if kind == "metric":
        key, pool = rng.choice(["metrics.m1", "metrics.m2", "metrics.none"]), NUMBERS
    elif kind == "attr_number":
        key, pool = rng.choice(["start_time", "end_time"]), ["1", "2", "5", "7", "nan", "3.5"]
    elif kind == "run_id":
        key, pool = "attributes.run_id", [_quoted(i) for i in ids[:12]] + ["'nope'"]
    else:
        key = rng.choice(["params.p1", "tags.t2", "run_name", "status", "experiment_id"])
        pool = [_quoted(t) for t in TEXTS + ["FINISHED", "RUNNING", "r1", "R1x", "0"]]
    values = rng.sample(pool, rng.randint(1, 4))
    return f"{key} {op} ({', '.join(values)})"


def _null_clause(rng: random.Random) -> str:
    key = rng.choice(["metrics.m1", "metrics.none", "params.p1", "tags.`t2`", "end_time"])
    return f"{key} {rng.choice(['IS NULL', 'is not null', 'IS NOT NULL', 'Is Null'])}"


def _tree(rng: random.Random, ids: list[str], depth: int = 0) -> str:
    """A generated filter with AND, OR (any case), parentheses, IN lists and IS NULL."""
    if depth >= 3 or rng.random() < 0.35:
        if rng.random() < 0.1:
            return _null_clause(rng)
        return _in_clause(rng, ids) if rng.random() < 0.4 else _clause(rng, ids)
    joiner = rng.choice([" and ", " or ", " AND ", " Or "])
    text = joiner.join(_tree(rng, ids, depth + 1) for _ in range(rng.randint(2, 3)))
    return f"({text})" if rng.random() < 0.7 else text


def _order(rng: random.Random) -> list[str]:
    keys = [
        "metrics.m1", "metrics.m2", "tags.t1", "params.p1", "params.p2", "start_time",
        "end_time", "run_name", "status", "experiment_id", "attributes.run_id",
    ]  # fmt: skip
    return [
        f"{rng.choice(keys)}{rng.choice(['', ' ASC', ' DESC', ' desc'])}"
        for _ in range(rng.randint(0, 2))
    ]


def test_sql_search_equals_the_python_reference(tracking_uri: str) -> None:
    rng = random.Random(SEED)
    client = Client()
    ids = _make_runs(client, rng)
    everything = load_runs(client.store, "lifecycle_stage = 'active'", [])
    checked = 0
    for _ in range(250):
        filter_string = " and ".join(_clause(rng, ids) for _ in range(rng.randint(1, 3)))
        order_by = _order(rng)
        experiments = rng.choice([None, ["0"], ["0", "1"]])
        limit, offset = rng.choice([1000, 5, 1]), rng.choice([0, 0, 3])
        keep = parse_filter(filter_string)
        candidates = [
            run
            for run in everything
            if experiments is None or run.info.experiment_id in experiments
        ]
        expected = order_runs([r for r in candidates if keep(r)], order_by)
        expected_ids = [r.info.run_id for r in expected][offset : offset + limit]
        found = search_runs(client.store, experiments, filter_string, order_by, limit, offset)
        assert [r.info.run_id for r in found] == expected_ids, (filter_string, order_by)
        checked += bool(expected_ids)
    assert checked > 60  # the generated filters are not all empty matches


def test_sql_search_with_or_in_and_parentheses_equals_the_python_reference(
    tracking_uri: str,
) -> None:
    rng = random.Random(SEED + 1)
    client = Client()
    ids = _make_runs(client, rng)
    everything = load_runs(client.store, "lifecycle_stage = 'active'", [])
    sizes = []
    for _ in range(250):
        filter_string = _tree(rng, ids)
        if rng.random() < 0.2:  # a few runs by id, the rest of the filter ANDed
            filter_string = f"{_in_clause(rng, ids, 'run_id')} and {filter_string}"
        order_by = _order(rng)
        experiments = rng.choice([None, ["0"], ["0", "1"]])
        keep = parse_filter(filter_string)
        candidates = [
            r for r in everything if experiments is None or r.info.experiment_id in experiments
        ]
        expected = [r.info.run_id for r in order_runs(list(filter(keep, candidates)), order_by)]
        found = search_runs(client.store, experiments, filter_string, order_by, 1000, 0)
        assert [r.info.run_id for r in found] == expected, (filter_string, order_by)
        assert count_runs(client.store, experiments, filter_string) == len(expected)
        sizes.append(len(expected))
    # neither mostly empty nor mostly everything: the filters decide something
    assert sum(0 < n < len(everything) for n in sizes) > 100


def test_found_runs_carry_all_their_data(tracking_uri: str) -> None:
    client = Client()
    run_id = client.create_run("0").info.run_id
    client.log_batch(run_id, [Metric("loss", 0.25, 1, 3)], {"alpha": "0.1"}, {"team": "a"})
    (found,) = client.search_runs(["0"], "metrics.loss < 1 and params.alpha = '0.1'")
    assert found == client.get_run(run_id)
    assert found.data.metrics == {"loss": 0.25}


def test_offset_pages_through_the_ordered_runs(tracking_uri: str) -> None:
    client = Client()
    for i in range(7):
        run_id = client.create_run("0").info.run_id
        client.log_metric(run_id, "rmse", float(i))
    every = client.search_runs(["0"], "", ["metrics.rmse DESC"])
    pages = [
        client.search_runs(["0"], "", ["metrics.rmse DESC"], max_results=3, offset=start)
        for start in (0, 3, 6)
    ]
    assert [r.info.run_id for page in pages for r in page] == [r.info.run_id for r in every]
    assert [len(page) for page in pages] == [3, 3, 1]


def test_filter_values_reach_the_database_as_parameters(tracking_uri: str) -> None:
    client = Client()
    run_id = client.create_run("0").info.run_id
    client.set_tag(run_id, "note", "x' OR '1'='1")
    assert client.search_runs(["0"], "tags.note = \"x' OR '1'='1\"")[0].info.run_id == run_id
    assert client.search_runs(["0"], 'tags.note = "\' OR 1=1 --"') == []
    found = client.search_runs(["0"], "tags.note IN ('?', \"x' OR '1'='1\") or tags.x IN (')')")
    assert [r.info.run_id for r in found] == [run_id]
    assert client.search_runs(["0"], "tags.note NOT IN (\"x' OR '1'='1\")") == []
    with pytest.raises(InvalidInput):
        client.search_runs(["0"], "params.a < '1'")
    assert client.search_runs([], "") == []


def test_ilike_folds_case_beyond_ascii(tracking_uri: str) -> None:
    client = Client()
    run_id = client.create_run("0").info.run_id
    client.log_batch(run_id, params={"city": "Évora"}, tags={"who": "Ünal"})
    assert [r.info.run_id for r in client.search_runs(["0"], "params.city ILIKE 'é%'")] == [run_id]
    assert client.search_runs(["0"], "tags.who NOT ILIKE 'ü%'") == []
    assert client.search_runs(["0"], "params.city LIKE 'é%'") == []


def test_experiment_ids_that_name_no_experiment_find_nothing(tracking_uri: str) -> None:
    client = Client()
    run_id = client.create_run("0").info.run_id
    for ids in (["abc"], ["0 OR 1=1"], ["99999999999"], ["1.5"]):
        assert client.search_runs(ids) == []
    assert [r.info.run_id for r in client.search_runs(["abc", "0"])] == [run_id]


def test_is_null_finds_runs_without_a_key(tracking_uri: str) -> None:
    # MLflow's way to list top-level runs: tags.mlflow.parentRunId IS NULL
    client = Client()
    parent = client.create_run("0", run_name="parent").info.run_id
    child = client.create_run("0", run_name="child", parent_run_id=parent).info.run_id
    client.log_batch(child, [Metric("loss", float("nan"), 1, 0)], {"alpha": "1"}, {})

    def names(filter_string: str) -> list[str]:
        return sorted(r.info.run_name for r in client.search_runs(["0"], filter_string))

    assert names("tags.mlflow.parentRunId IS NULL") == ["parent"]
    assert names("tags.`mlflow.parentRunId` IS NOT NULL") == ["child"]
    assert names("params.alpha is null or metrics.loss IS NOT NULL") == ["child", "parent"]
    assert names("metrics.loss IS NOT NULL") == ["child"]  # a NaN metric is present
    assert names("end_time IS NULL and run_name = 'child'") == ["child"]  # still running
