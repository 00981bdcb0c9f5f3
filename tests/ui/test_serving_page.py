"""``modelpack serve``'s /docs: the model's own page, with a try-it form that works."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.serve_process import serving
from tests.ui.seed import Seeded


@pytest.fixture(scope="module")
def scoring_url(seeded_root: tuple[Path, Seeded]) -> Iterator[str]:
    root, _ = seeded_root
    argv = [sys.executable, "-m", "modelpack", "serve", "-m", str(root / "iris-model"),
            "--host", "127.0.0.1", "--port", "0"]  # fmt: skip
    with serving(argv, cwd=root) as url:
        yield url


def test_docs_is_the_models_page(scoring_url: str) -> None:
    page = httpx.get(f"{scoring_url}/docs", timeout=30)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<h1 id="model-title">iris-model <small>version' in page.text
    assert "<td>sepal length (cm)</td><td>double</td><td>yes</td>" in page.text
    assert "dataframe_split" in page.text  # the input example fills the form
    assert 'href="/openapi.json"' in page.text and 'href="/metrics"' in page.text
    assert "curl -s http://127.0.0.1:5000/invocations" in page.text
    assert "httpx.post(" in page.text
    for asset in ("/static/ui.css", "/static/serving.js"):
        assert httpx.get(scoring_url + asset, timeout=30).status_code == 200


def test_scoring_is_unchanged_beside_the_page(scoring_url: str) -> None:
    answer = httpx.post(
        f"{scoring_url}/invocations",
        json={"dataframe_records": [{"sepal length (cm)": 5.1, "sepal width (cm)": 3.5,
                                     "petal length (cm)": 1.4, "petal width (cm)": 0.2}]},
        timeout=30,
    )  # fmt: skip
    assert answer.status_code == 200 and answer.json() == {"predictions": [0]}
    missing = httpx.get(f"{scoring_url}/static/../../etc/passwd", timeout=30)
    assert missing.status_code == 404


def test_try_it_in_a_browser_shows_the_prediction(page: Any, scoring_url: str) -> None:
    page.goto(f"{scoring_url}/docs")
    page.get_by_role("button", name="Send to /invocations").click()
    page.wait_for_selector("#try-answer[data-status='200']")
    assert '"predictions"' in page.locator("#try-answer").inner_text()
    page.get_by_label("Request body", exact=False).fill('{"dataframe_records": [{"x": 1}]}')
    page.get_by_role("button", name="Send to /invocations").click()
    page.wait_for_selector("#try-answer[data-status='400']")
    assert "error_code" in page.locator("#try-answer").inner_text()
