"""The UI's pages over real HTTP (httpx) against a real ``modelpack ui`` process."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import httpx
import pytest

from tests.ui.conftest import UiServer
from tests.ui.seed import LONG_POINTS

STATIC = Path(__file__).resolve().parents[2] / "modelpack" / "ui" / "static"


def _get(server: UiServer, url_path: str, **params: object) -> httpx.Response:
    return httpx.get(server.url + url_path, params=params, timeout=30)  # type: ignore[arg-type]


def _run_names(html: str) -> list[str]:
    return re.findall(r'<a href="/runs/[0-9a-f]{32}">([^<]+)</a>', html)


def test_experiments_list_links_each_experiment(ui_server: UiServer) -> None:
    page = _get(ui_server, "/")
    assert page.status_code == 200
    assert f'href="/experiments/{ui_server.seeded.experiment_id}">ui-demo<' in page.text


def test_runs_table_pages_sorts_and_filters(ui_server: UiServer) -> None:
    path = f"/experiments/{ui_server.seeded.experiment_id}"
    first = _get(ui_server, path, size=25)
    assert "31 runs" in first.text and len(_run_names(first.text)) == 25
    second = _get(ui_server, path, size=25, page=2)
    assert len(_run_names(second.text)) == 6
    by_acc = _run_names(_get(ui_server, path, order="metrics.acc DESC").text)
    assert by_acc[:3] == ["r29", "r28", "r27"] and by_acc[-1] == "long-curve"  # missing: last
    by_name = _run_names(_get(ui_server, path, order="attributes.run_name ASC").text)
    assert by_name[:2] == ["long-curve", "r00"]
    alpha3 = _run_names(_get(ui_server, path, filter="params.alpha = '3'").text)
    assert sorted(alpha3) == [f"r{i:02d}" for i in range(30) if i % 5 == 3]


def test_runs_table_filters_with_or_in_and_parentheses(ui_server: UiServer) -> None:
    path = f"/experiments/{ui_server.seeded.experiment_id}"
    text = "(params.alpha IN ('3', '4') or metrics.acc > 0.9) and tags.team != 'none'"
    names = _run_names(_get(ui_server, path, filter=text).text)
    expected = [f"r{i:02d}" for i in range(30) if i % 5 in (3, 4) or i / 30 > 0.9]
    assert sorted(names) == expected
    unbalanced = _get(ui_server, path, filter="(params.alpha IN ('3') or metrics.acc > 0.9")
    assert 'role="alert" id="filter-error"' in unbalanced.text
    assert "to close the" in unbalanced.text and "at position 1" in unbalanced.text


def test_chosen_columns_and_view_stay_in_the_links(ui_server: UiServer) -> None:
    path = f"/experiments/{ui_server.seeded.experiment_id}"
    page = _get(ui_server, path, col="tags.team", filter="metrics.acc > 0.5", size=25)
    assert 'class="tags"' in page.text and ">blue<" in page.text
    assert 'class="params"' not in page.text  # only the chosen column
    sort_link = re.search(r'href="([^"]+)" aria-label="Sort by tags.team"', page.text)
    assert sort_link is not None
    link = sort_link.group(1).replace("&amp;", "&")
    assert "col=tags.team" in link and "filter=metrics.acc" in link and "size=25" in link


def test_a_bad_filter_is_a_message_on_the_page(ui_server: UiServer) -> None:
    path = f"/experiments/{ui_server.seeded.experiment_id}"
    for bad in ["metrics.loss <", "nonsense.key = 1", "params.alpha = unquoted", "metrics.x ~ 1"]:
        page = _get(ui_server, path, filter=bad)
        assert page.status_code == 200
        assert 'role="alert" id="filter-error"' in page.text and "0 runs" in page.text


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/experiments/999999", {}, 404),
        ("/experiments/not-a-number", {}, 404),
        ("/experiments/{eid}", {"page": "99999999"}, 404),
        ("/experiments/{eid}", {"page": "9" * 40}, 400),
        ("/experiments/{eid}", {"page": "-1"}, 400),
        ("/experiments/{eid}", {"size": "7"}, 400),
        ("/experiments/{eid}", {"col": "secret.HOSTILE-VALUE"}, 400),
        ("/experiments/{eid}", {"filter": "x" * 5000}, 400),
        ("/runs/0123456789abcdef0123456789abcdef", {}, 404),
        ("/runs/HOSTILE-VALUE", {}, 404),
        ("/runs/{rid}", {"artifact": "../../store.db"}, 404),
        ("/runs/{rid}", {"artifact": "/etc/passwd"}, 404),
        ("/runs/{rid}", {"artifact": "escape.txt"}, 404),
        ("/runs/{rid}", {"artifact": "notes"}, 404),
        ("/runs/{rid}", {"artifact": "notes/readme.txt\x00.png"}, 404),
        ("/runs/{rid}/artifact", {"path": "escape.txt"}, 404),
        ("/runs/{rid}/artifact", {"path": "config.json"}, 404),
        ("/runs/{rid}/series", {"key": "curve", "width": "HOSTILE-VALUE"}, 400),
        ("/runs/{rid}/series", {"key": "curve", "x": "HOSTILE-VALUE"}, 400),
        ("/runs/{rid}/series", {"key": ""}, 400),
        ("/runs/0123456789abcdef0123456789abcdef/series", {"key": "curve"}, 404),
        ("/runs/HOSTILE-VALUE/series", {"key": "curve"}, 404),
        ("/no/such/page", {}, 404),
    ],
)
def test_bad_input_is_a_4xx_page_that_echoes_nothing(
    ui_server: UiServer, path: str, params: dict[str, str], status: int
) -> None:
    seeded = ui_server.seeded
    url = path.format(eid=seeded.experiment_id, rid=seeded.long_run_id)
    page = _get(ui_server, url, **params)
    assert page.status_code == status
    assert "HOSTILE-VALUE" not in page.text and "root:" not in page.text
    assert "store.db" not in page.text and "passwd" not in page.text


def test_run_page_shows_values_model_signature_and_chart_slots(ui_server: UiServer) -> None:
    page = _get(ui_server, f"/runs/{ui_server.seeded.run_ids[3]}")
    assert page.status_code == 200
    assert "<td>alpha</td><td>3</td>" in page.text and "<td>team</td><td>blue</td>" in page.text
    assert page.text.count('class="chart"') == 2  # acc and loss
    model_page = _get(ui_server, f"/runs/{ui_server.seeded.long_run_id}")
    assert "Logged model: model" in model_page.text
    assert "<td>sepal length (cm)</td><td>double</td><td>yes</td>" in model_page.text


def test_series_is_downsampled_with_the_spike_kept(ui_server: UiServer) -> None:
    answer = _get(
        ui_server, f"/runs/{ui_server.seeded.long_run_id}/series", key="curve", width=400
    ).json()
    assert answer["points"] == LONG_POINTS and answer["downsampled"] is True
    assert answer["shown"] == len(answer["x"]) <= 802
    assert max(answer["y"]) == 50.0
    whole = _get(ui_server, f"/runs/{ui_server.seeded.long_run_id}/series", key="other").json()
    assert whole["downsampled"] is False and whole["y"] == [1.0]


def test_artifact_previews(ui_server: UiServer) -> None:
    run = f"/runs/{ui_server.seeded.long_run_id}"
    text = _get(ui_server, run, artifact="notes/readme.txt").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "<script>alert" not in text
    big = _get(ui_server, run, artifact="big.txt").text
    assert "Showing the first 64 KB only." in big and "x" * 65_537 not in big
    assert "x" * 65_536 in big
    assert "&#34;layers&#34;: [" in _get(ui_server, run, artifact="config.json").text
    assert "lr: 0.1" in _get(ui_server, run, artifact="config.yaml").text
    csv_page = _get(ui_server, run, artifact="table.csv").text
    assert "<td>v19</td>" in csv_page and "<td>v20</td>" not in csv_page  # first 20 rows
    parquet_page = _get(ui_server, run, artifact="table.parquet").text
    assert "<td>v19</td>" in parquet_page and "100 rows in all" in parquet_page
    assert '<img class="preview"' in _get(ui_server, run, artifact="plots/dot.png").text
    image = _get(ui_server, f"{run}/artifact", path="plots/dot.png")
    assert image.headers["content-type"] == "image/png" and image.content.startswith(b"\x89PNG")
    assert "sandbox" in image.headers["content-security-policy"]


def test_static_assets_are_vendored_small_and_licensed() -> None:
    vendor = STATIC / "vendor"
    assert {p.name for p in vendor.iterdir()} >= {
        "htmx.min.js", "htmx.LICENSE", "uPlot.iife.min.js", "uPlot.min.css", "uPlot.LICENSE",
    }  # fmt: skip
    total = sum(len(gzip.compress(p.read_bytes())) for p in STATIC.rglob("*") if p.is_file())
    assert total <= 300 * 1024


def test_static_files_are_served(ui_server: UiServer) -> None:
    for name in ("ui.css", "ui.js", "vendor/htmx.min.js", "vendor/uPlot.iife.min.js"):
        assert _get(ui_server, f"/static/{name}").status_code == 200


def test_compare_shows_diff_table_parallel_plot_and_curves(ui_server: UiServer) -> None:
    ids = ui_server.seeded.run_ids[:3]
    page = httpx.get(f"{ui_server.url}/compare", params=[("runs", i) for i in ids], timeout=30)
    assert page.status_code == 200
    row = re.search(r'<tr class="differs"><th scope="row">params.alpha</th>(.*?)</tr>', page.text)
    assert row is not None and re.findall(r"<td[^>]*>([^<]*)</td>", row.group(1)) == ["0", "1", "2"]
    assert '<tr class=""><th scope="row">' not in page.text or "tags." not in page.text
    assert page.text.count('<polyline class="run"') == 3
    assert page.text.count('class="chart"') == 2  # acc and loss, each with three runs


@pytest.mark.parametrize(
    ("runs", "status"),
    [
        (["0" * 32], 400),
        ([f"{i:032x}" for i in range(51)], 400),
        (["HOSTILE-VALUE", "1" * 32], 404),
        (["a" * 32, "b" * 32], 404),
    ],
)
def test_compare_refuses_bad_run_lists(ui_server: UiServer, runs: list[str], status: int) -> None:
    page = httpx.get(f"{ui_server.url}/compare", params=[("runs", r) for r in runs], timeout=30)
    assert page.status_code == status and "HOSTILE" not in page.text
