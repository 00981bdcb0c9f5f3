"""The UI in a real headless Chromium: sort, filter, open a run, see charts drawn."""

from __future__ import annotations

from typing import Any

from tests.ui.conftest import UiServer


def _names(page: Any) -> list[str]:
    return page.locator("#runs-table tbody tr td:nth-child(2)").all_inner_texts()  # type: ignore[no-any-return]


def test_sort_and_filter_change_the_rows(page: Any, ui_server: UiServer) -> None:
    page.goto(f"{ui_server.url}/experiments/{ui_server.seeded.experiment_id}")
    assert page.locator("#run-count").inner_text().startswith("31 runs")
    page.get_by_label("Sort by metrics.acc").click()
    page.wait_for_url("**order=metrics.acc**")
    assert _names(page)[:2] == ["r00", "r01"]
    page.get_by_label("Sort by metrics.acc").click()
    page.wait_for_url("**DESC**")
    assert _names(page)[:2] == ["r29", "r28"]
    page.get_by_label("Filter").fill("params.alpha = '3' and tags.team = 'blue'")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**filter=**")
    assert _names(page) == ["r23", "r13", "r03"]  # still ordered by acc, descending
    page.get_by_label("Filter").fill("metrics.acc >")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_selector("#filter-error")
    assert page.locator("#runs-table tbody").inner_text().strip() == "No runs match."


def test_run_page_draws_one_chart_per_metric(page: Any, ui_server: UiServer) -> None:
    page.goto(f"{ui_server.url}/runs/{ui_server.seeded.long_run_id}")
    page.wait_for_function(
        "[...document.querySelectorAll('.chart')].every(c => c.dataset.drawn === 'yes')"
    )
    charts = page.locator(".chart")
    assert charts.count() == 2
    assert page.locator(".chart canvas").count() == 2
    assert charts.first.get_attribute("data-series") == "1"
    assert "Down-sampled on the server" in page.locator(".chart-note").first.inner_text()
    page.get_by_role("link", name="time").click()
    page.wait_for_url("**x=time**")
    # every chart of the new page, not just the first (the second may still be drawing)
    page.wait_for_function(
        "document.querySelectorAll('.chart').length === 2 && "
        "[...document.querySelectorAll('.chart')].every(c => c.dataset.drawn === 'yes')"
    )
    assert page.locator(".chart canvas").count() == 2


def test_set_an_alias_from_the_version_page(page: Any, ui_server: UiServer) -> None:
    from modelpack import Client

    page.goto(f"{ui_server.url}/models/iris")
    page.get_by_role("link", name="Version 1").click()
    page.wait_for_url("**/models/iris/versions/1")
    page.get_by_label("Alias", exact=True).fill("browser-pick")
    page.get_by_role("button", name="Set alias").click()
    page.wait_for_selector("#aliases >> text=@browser-pick")
    version = Client(ui_server.seeded.store_uri).get_model_version_by_alias("iris", "browser-pick")
    assert version.version == 1


def test_compare_selected_runs_overlays_their_curves(page: Any, ui_server: UiServer) -> None:
    page.goto(
        f"{ui_server.url}/experiments/{ui_server.seeded.experiment_id}?order=attributes.run_name"
    )
    for name in ("r00", "r01", "r02"):
        page.get_by_label(f"Select {name}").check()
    page.get_by_role("button", name="Compare selected").click()
    page.wait_for_url("**/compare?**")
    page.wait_for_function(
        "[...document.querySelectorAll('.chart')].every(c => c.dataset.drawn === 'yes')"
    )
    assert page.locator(".chart").first.get_attribute("data-series") == "3"
    assert page.locator("svg.parallel polyline.run").count() == 3


def test_pages_fit_a_phone_width_window(browser: Any, ui_server: UiServer) -> None:
    # nothing but a wide table may scroll sideways, and only inside its own box
    context = browser.new_context(viewport={"width": 390, "height": 780})
    page = context.new_page()
    page.set_default_timeout(90_000)
    seeded = ui_server.seeded
    try:
        for path in ("/", f"/experiments/{seeded.experiment_id}", f"/runs/{seeded.long_run_id}",
                     "/models", "/models/iris", "/models/iris/versions/1"):  # fmt: skip
            page.goto(f"{ui_server.url}{path}")
            page.wait_for_load_state("load")
            overflow = page.evaluate(
                "document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth"
            )
            assert overflow <= 1, f"{path} scrolls {overflow} px sideways at 390 px"
    finally:
        context.close()
