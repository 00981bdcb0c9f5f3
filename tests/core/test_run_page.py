"""``Client.search_runs_page``: one page of ``search_runs``'s answer, and the total."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelpack import Client
from modelpack.errors import InvalidInput
from modelpack.tracking import Metric


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Client, str]:
    root: Path = tmp_path_factory.mktemp("run-page")
    client = Client(f"sqlite:///{root / 'store.db'}")
    experiment_id = client.create_experiment("paged")
    for i in range(30):
        run = client.create_run(experiment_id, run_name=f"r{i:02d}")
        metrics = [Metric("loss", 100.0 - i, 0, 0), Metric("loss", float(i), 1, 1)]
        if i % 3:
            metrics.append(Metric("acc", i / 30, 0, 0))
        if i % 4 == 0:  # NaN sorts as missing; equal values tie-break like search_runs
            metrics.append(Metric("flat", float("nan") if i % 8 else 1.0, 0, 0))
        client.log_batch(
            run.info.run_id, metrics, params={"alpha": str(i % 5)}, tags={"team": f"t{i % 2}"}
        )
    return client, experiment_id


@pytest.mark.parametrize(
    ("filter_string", "order_by"),
    [
        ("", None),
        ("metrics.loss < 10", ["metrics.loss DESC"]),
        ("params.alpha = '3' and tags.team = 't1'", ["params.alpha"]),
        ("", ["metrics.acc ASC", "attributes.run_name DESC"]),
        ("attributes.run_name LIKE 'r1%'", ["tags.team", "metrics.loss"]),
        # no filter, one ordering: answered in SQL
        ("", ["metrics.acc DESC"]),
        ("", ["metrics.acc"]),
        ("", ["metrics.flat DESC"]),
        ("", ["metrics.nothing"]),
        ("", ["tags.team DESC"]),
        ("", ["tags.`mlflow.none`"]),
        ("", ["attributes.run_name DESC"]),
        ("", ["attributes.end_time"]),
        ("", ["start_time ASC"]),
        ("", ["params.alpha DESC"]),
        ("", ["attributes.experiment_id"]),
    ],
)
def test_pages_are_slices_of_search_runs(
    seeded: tuple[Client, str], filter_string: str, order_by: list[str] | None
) -> None:
    client, experiment_id = seeded
    everything = client.search_runs([experiment_id], filter_string, order_by)
    pages = [
        client.search_runs_page([experiment_id], filter_string, order_by, offset, 7)
        for offset in range(0, 35, 7)
    ]
    assert {page.total for page in pages} == {len(everything)}
    assert [run for page in pages for run in page.runs] == everything


def test_a_page_holds_every_value_of_its_runs(seeded: tuple[Client, str]) -> None:
    client, experiment_id = seeded
    page = client.search_runs_page([experiment_id], "", ["metrics.loss ASC"], 0, 1)
    (run,) = page.runs
    assert run.data.metrics["loss"] == 0.0  # the latest point (step 1), not step 0
    assert run.data.params == {"alpha": "0"} and run.data.tags["team"] == "t0"
    assert run.info.artifact_uri.startswith("file://")


def test_an_offset_past_the_end_is_an_empty_page(seeded: tuple[Client, str]) -> None:
    client, experiment_id = seeded
    page = client.search_runs_page([experiment_id], "", None, 10_000, 10)
    assert page.runs == [] and page.total == 30


@pytest.mark.parametrize(
    ("filter_string", "order_by", "offset", "size"),
    [
        ("metrics.loss <", None, 0, 10),
        ("nonsense.key = 1", None, 0, 10),
        ("", ["bogus_attribute"], 0, 10),
        ("", None, -1, 10),
        ("", None, 0, 0),
        ("", None, 0, 5000),
    ],
)
def test_bad_queries_are_invalid_input(
    seeded: tuple[Client, str],
    filter_string: str,
    order_by: list[str] | None,
    offset: int,
    size: int,
) -> None:
    client, experiment_id = seeded
    with pytest.raises(InvalidInput):
        client.search_runs_page([experiment_id], filter_string, order_by, offset, size)
