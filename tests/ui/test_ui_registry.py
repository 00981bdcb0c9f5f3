"""Registry pages and actions over real HTTP; changes checked through the Client API."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from modelpack import Client
from tests.ui.conftest import UiServer


@pytest.fixture()
def browser_like(ui_server: UiServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ui_server.url, timeout=30) as http:
        yield http


def _token(http: httpx.Client, path: str) -> str:
    page = http.get(path)
    assert page.status_code == 200
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def test_models_list_and_model_page(ui_server: UiServer, browser_like: httpx.Client) -> None:
    models = browser_like.get("/models").text
    assert '<a href="/models/iris">iris</a>' in models
    model = browser_like.get("/models/iris").text
    assert "Version 2" in model and "Version 1" in model
    assert f'href="/runs/{ui_server.seeded.long_run_id}"' in model


def test_version_page_has_signature_example_lineage_and_snippets(
    ui_server: UiServer, browser_like: httpx.Client
) -> None:
    page = browser_like.get("/models/iris/versions/1").text
    assert "<td>petal width (cm)</td><td>double</td><td>yes</td>" in page
    assert f'from run <a href="/runs/{ui_server.seeded.long_run_id}"' in page
    assert "modelpack serve -m models:/iris/1 --port 5001" in page
    assert "curl -s http://127.0.0.1:5001/invocations" in page and "dataframe_split" in page


def test_set_alias_transition_and_describe_through_the_forms(
    ui_server: UiServer, browser_like: httpx.Client
) -> None:
    client = Client(ui_server.seeded.store_uri)
    token = _token(browser_like, "/models/iris/versions/2")
    moved = browser_like.post(
        "/models/iris/versions/2/alias", data={"csrf_token": token, "alias": "champion"}
    )
    assert moved.status_code == 303 and moved.headers["location"] == "/models/iris/versions/2"
    assert client.get_model_version_by_alias("iris", "champion").version == 2
    browser_like.post("/models/iris/versions/2/stage",
                      data={"csrf_token": token, "stage": "Production"})  # fmt: skip
    assert client.get_model_version("iris", 2).current_stage == "Production"
    browser_like.post("/models/iris/versions/1/archive", data={"csrf_token": token})
    assert client.get_model_version("iris", 1).current_stage == "Archived"
    browser_like.post("/models/iris/versions/2/description",
                      data={"csrf_token": token, "description": "the <b>best</b> one"})  # fmt: skip
    assert client.get_model_version("iris", 2).description == "the <b>best</b> one"
    page = browser_like.get("/models/iris/versions/2").text
    assert "the &lt;b&gt;best&lt;/b&gt; one" in page and "@champion" in page
    browser_like.post("/models/iris/description",
                      data={"csrf_token": token, "description": "irises"})  # fmt: skip
    assert client.get_registered_model("iris").description == "irises"
    browser_like.post("/models/iris/versions/2/unalias",
                      data={"csrf_token": token, "alias": "champion"})  # fmt: skip
    assert "champion" not in client.get_registered_model("iris").aliases


@pytest.mark.parametrize("token", [None, "", "forged-token-of-43-characters-xxxxxxxxxxxxx"])
def test_a_post_without_the_csrf_token_is_refused(
    ui_server: UiServer, browser_like: httpx.Client, token: str | None
) -> None:
    _token(browser_like, "/models/iris/versions/1")  # the browser has the cookie
    data = {"alias": "sneaky"} if token is None else {"alias": "sneaky", "csrf_token": token}
    refused = browser_like.post("/models/iris/versions/1/alias", data=data)
    assert refused.status_code == 403 and "security token" in refused.text
    assert "sneaky" not in Client(ui_server.seeded.store_uri).get_registered_model("iris").aliases


def test_a_cross_site_post_without_the_cookie_is_refused(ui_server: UiServer) -> None:
    refused = httpx.post(
        f"{ui_server.url}/models/iris/versions/1/stage",
        data={"csrf_token": "x" * 43, "stage": "Production"},
    )
    assert refused.status_code == 403
    assert Client(ui_server.seeded.store_uri).get_model_version("iris", 1).current_stage != (
        "Production"
    )


@pytest.mark.parametrize(
    ("path", "fields", "status"),
    [
        ("/models/iris/versions/1/alias", {"alias": "HOSTILE VALUE!"}, 400),
        ("/models/iris/versions/1/alias", {"alias": "latest"}, 400),
        ("/models/iris/versions/1/stage", {"stage": "HOSTILE-VALUE"}, 400),
        ("/models/iris/versions/1/description", {"description": "HOSTILE-VALUE" * 1000}, 400),
        ("/models/iris/versions/99/alias", {"alias": "ok"}, 404),
        ("/models/HOSTILE-VALUE/versions/1/alias", {"alias": "ok"}, 404),
        ("/models/iris/versions/1/HOSTILE-VALUE", {}, 404),
    ],
)
def test_bad_actions_are_4xx_and_change_nothing(
    ui_server: UiServer, browser_like: httpx.Client, path: str, fields: dict[str, str], status: int
) -> None:
    client = Client(ui_server.seeded.store_uri)
    before = client.get_registered_model("iris")
    token = _token(browser_like, "/models/iris/versions/1")
    answer = browser_like.post(path, data={"csrf_token": token, **fields})
    assert answer.status_code == status
    assert "HOSTILE" not in answer.text
    assert client.get_registered_model("iris") == before


@pytest.mark.parametrize(
    "path", ["/models/HOSTILE-VALUE", "/models/iris/versions/HOSTILE-VALUE",
             "/models/iris/versions/999", "/models/iris/versions/" + "9" * 30],
)  # fmt: skip
def test_unknown_models_and_versions_are_404(browser_like: httpx.Client, path: str) -> None:
    answer = browser_like.get(path)
    assert answer.status_code == 404 and "HOSTILE" not in answer.text


def test_a_huge_form_is_refused_before_it_is_read(browser_like: httpx.Client) -> None:
    token = _token(browser_like, "/models/iris/versions/1")
    answer = browser_like.post(
        "/models/iris/versions/1/description",
        content=f"csrf_token={token}&description=" + "a" * 200_000,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 413
