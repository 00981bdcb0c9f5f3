"""The model registry: models, one model's versions, one version; and the daily actions
(set or remove an alias, transition a stage, archive, edit a description).

Actions are POST forms checked for the CSRF token (:func:`~modelpack.ui.web.read_form`)
and for EDIT permission, then answered with a 303 back to the page (post/redirect/get).
Form values are checked here with messages of our own, which never repeat them.
"""

from __future__ import annotations

import json
import shlex

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from modelpack.errors import InvalidInput
from modelpack.tracking.client import Client
from modelpack.tracking.entities import ModelVersion
from modelpack.tracking.names import STAGES, check_alias, check_name, check_version
from modelpack.ui.signatures import read_model_summary
from modelpack.ui.web import PageError, in_thread, page, read_form, render, require

MAX_DESCRIPTION = 5000


def _name(request: Request) -> str:
    try:
        return check_name(str(request.path_params["name"]))
    except InvalidInput:
        raise PageError(404, "There is no registered model with this name.") from None


def _version(request: Request) -> int:
    try:
        return check_version(str(request.path_params["version"]))
    except InvalidInput:
        raise PageError(404, "There is no such version: versions are numbers from 1.") from None


def versions_of(client: Client, name: str) -> list[ModelVersion]:
    """Every version of ``name``, newest first."""
    quote = '"' if "'" in name else "'"
    found = client.search_model_versions(f"name = {quote}{name}{quote}")
    return sorted(found, key=lambda v: -v.version)


def _model_url(request: Request, name: str, version: int | None = None) -> str:
    from urllib.parse import quote

    root = request.scope.get("root_path", "").rstrip("/")
    url = f"{root}/models/{quote(name, safe='')}"
    return f"{url}/versions/{version}" if version is not None else url


def serve_snippets(name: str, version: int, example: str | None) -> dict[str, str]:
    """A ready-to-paste ``modelpack serve`` command and ``curl`` request for a version."""
    uri = f"models:/{name}/{version}"
    body = example.strip() if example else '{"dataframe_records": [{}]}'
    try:
        body = json.dumps(json.loads(body), separators=(",", ":"))
    except ValueError:
        pass
    curl = (
        "curl -s http://127.0.0.1:5001/invocations -H 'Content-Type: application/json' "
        f"-d {shlex.quote(body)}"
    )
    return {"serve": f"modelpack serve -m {shlex.quote(uri)} --port 5001", "curl": curl}


@page
async def models_list(request: Request) -> Response:
    client: Client = request.app.state.client
    require(request, "READ")
    models = await in_thread(client.search_registered_models)
    return render(request, "models.html", models=models)


@page
async def model_page(request: Request) -> Response:
    client: Client = request.app.state.client
    require(request, "READ")
    name = _name(request)
    model = await in_thread(client.get_registered_model, name)
    versions = await in_thread(versions_of, client, name)
    return render(
        request, "model.html", model=model, versions=versions, url=_model_url(request, name)
    )


@page
async def version_page(request: Request) -> Response:
    client: Client = request.app.state.client
    require(request, "READ")
    name, number = _name(request), _version(request)
    version = await in_thread(client.get_model_version, name, number)
    model = await in_thread(client.get_registered_model, name)
    summary = await in_thread(read_model_summary, version.storage_location)
    example = summary["input_example"] if summary else None
    return render(
        request,
        "version.html",
        model=model,
        version=version,
        summary=summary,
        snippets=serve_snippets(name, number, example),
        stages=STAGES,
        url=_model_url(request, name, number),
        model_url=_model_url(request, name),
    )


def _alias(value: str) -> str:
    try:
        return check_alias(value.strip())
    except InvalidInput:
        raise PageError(
            400,
            "An alias is 1 to 256 letters, digits, '_' or '-', and cannot be 'latest' or "
            "'v<number>'.",
        ) from None


def _description(value: str) -> str:
    if len(value) > MAX_DESCRIPTION:
        raise PageError(400, f"A description is at most {MAX_DESCRIPTION} characters.")
    return value


@page
async def version_action(request: Request) -> Response:
    """POST /models/{name}/versions/{version}/{action}: alias, unalias, stage, archive,
    description."""
    client: Client = request.app.state.client
    form = await read_form(request)
    require(request, "EDIT")
    name, number = _name(request), _version(request)
    await in_thread(client.get_model_version, name, number)  # 404 before anything changes
    action = request.path_params["action"]
    if action == "alias":
        await in_thread(
            client.set_registered_model_alias, name, _alias(form.get("alias", "")), number
        )
    elif action == "unalias":
        alias = _alias(form.get("alias", ""))
        if alias not in (await in_thread(client.get_model_version, name, number)).aliases:
            raise PageError(409, "This version does not hold that alias; reload the page.")
        await in_thread(client.delete_registered_model_alias, name, alias)
    elif action in ("stage", "archive"):
        stage = "Archived" if action == "archive" else form.get("stage", "")
        if stage not in STAGES:
            raise PageError(400, f"The stage must be one of {', '.join(STAGES)}.")
        archive = form.get("archive_existing") == "on"
        await in_thread(client.transition_model_version_stage, name, number, stage, archive)
    elif action == "description":
        text = _description(form.get("description", ""))
        await in_thread(client.update_model_version, name, number, text)
    else:
        raise PageError(404, "There is no such action on a model version.")
    return RedirectResponse(_model_url(request, name, number), status_code=303)


@page
async def model_description(request: Request) -> Response:
    client: Client = request.app.state.client
    form = await read_form(request)
    require(request, "EDIT")
    name = _name(request)
    await in_thread(client.get_registered_model, name)
    text = _description(form.get("description", ""))
    await in_thread(client.update_registered_model, name, text)
    return RedirectResponse(_model_url(request, name), status_code=303)


def routes() -> list[Route]:
    return [
        Route("/models", models_list, name="models"),
        Route("/models/{name}", model_page, name="model"),
        Route("/models/{name}/description", model_description, methods=["POST"]),
        Route("/models/{name}/versions/{version}", version_page, name="version"),
        Route("/models/{name}/versions/{version}/{action}", version_action, methods=["POST"]),
    ]


__all__ = ["routes", "serve_snippets", "versions_of"]
