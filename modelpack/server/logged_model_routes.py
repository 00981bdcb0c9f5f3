"""MLflow 3 logged models over REST (``/api/2.0/mlflow/logged-models…``): what
``mlflow.<flavor>.log_model(..., name=...)`` creates, uploads into and finalizes.

Grants follow the experiment a logged model belongs to (READ to read, EDIT to change).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StrictInt, StrictStr

from modelpack.errors import InvalidInput, NotFound
from modelpack.server.endpoint import Endpoint, Permission, Scope
from modelpack.server.routes import PREFIX, offset_of, page
from modelpack.server.wire import Id, KeyValue, NumericId, RunId, RunRef, Text, Wire
from modelpack.tracking.client import Client
from modelpack.tracking.names import check_key, check_tags, check_value
from modelpack.tracking.stores.sql import logged_models as lm

ModelId = Annotated[StrictStr, Field(pattern=r"^m-[0-9a-f]{32}$")]
_PAIRS = Annotated[list[KeyValue], Field(max_length=1000)]
_MISSING = "no logged model with this model_id (or no such experiment); check the id"
#: MLflow's LoggedModelStatus enum, by number and by name
_STATUS_BY_NUMBER = {1: "PENDING", 2: "READY", 3: "UPLOAD_FAILED"}
READ, EDIT = Permission.READ, Permission.EDIT


class CreateLoggedModel(Wire):
    experiment_id: NumericId
    name: Annotated[StrictStr, Field(max_length=500)] | None = None
    model_type: Annotated[StrictStr, Field(max_length=500)] | None = None
    source_run_id: RunId | None = None
    params: _PAIRS = []
    tags: _PAIRS = []


class ModelIdRef(Wire):
    model_id: ModelId


class Finalize(ModelIdRef):
    status: StrictInt | Annotated[StrictStr, Field(max_length=40)]


class SetTags(ModelIdRef):
    tags: _PAIRS = []


class DeleteTag(ModelIdRef):
    tag_key: Id


class LogParams(ModelIdRef):
    params: _PAIRS = []


class SearchLoggedModels(Wire):
    experiment_ids: Annotated[list[NumericId], Field(min_length=1, max_length=1000)]
    filter: Text = ""
    max_results: Annotated[int, Field(ge=1, le=50_000)] = 100
    page_token: Text | None = None


class ModelOutput(Wire):
    model_id: ModelId
    step: Annotated[int, Field(ge=-(2**63), le=2**63 - 1)] = 0


class LogOutputs(RunRef):
    models: Annotated[list[ModelOutput], Field(max_length=1000)] = []


def logged_model_json(model: lm.LoggedModel) -> dict[str, Any]:
    """A ``LoggedModel`` message: ``info`` and ``data``."""
    artifacts = f"mlflow-artifacts:/{model.experiment_id}/models/{model.model_id}/artifacts"
    info: dict[str, Any] = {
        "model_id": model.model_id,
        "experiment_id": model.experiment_id,
        "name": model.name,
        "creation_timestamp_ms": model.creation_time,
        "last_updated_timestamp_ms": model.last_updated_time,
        "artifact_uri": artifacts,
        "status": f"LOGGED_MODEL_{model.status}",
        "model_type": model.model_type,
        "tags": [{"key": k, "value": v} for k, v in model.tags.items()],
    }
    if model.source_run_id:
        info["source_run_id"] = model.source_run_id
    params = [{"key": k, "value": v} for k, v in model.params.items()]
    return {"info": info, "data": {"params": params, "metrics": []}}


def _params(pairs: list[KeyValue]) -> dict[str, str]:
    return {check_key(p.key, "param key"): check_value(p.value, "param value", 6000) for p in pairs}


def create(client: Client, body: CreateLoggedModel) -> dict[str, Any]:
    model = lm.create_logged_model(
        client.store, body.experiment_id, body.name or "model", body.model_type or "",
        body.source_run_id, _params(body.params),
        check_tags({t.key: t.value for t in body.tags}),
    )  # fmt: skip
    return {"model": logged_model_json(model)}


def get(client: Client, body: ModelIdRef) -> dict[str, Any]:
    return {"model": logged_model_json(lm.get_logged_model(client.store, body.model_id))}


def finalize(client: Client, body: Finalize) -> dict[str, Any]:
    status = body.status
    if isinstance(status, int):
        name = _STATUS_BY_NUMBER.get(status, "")
    else:
        name = status.upper().removeprefix("LOGGED_MODEL_")
    if name not in lm.STATUSES:
        raise InvalidInput(
            "status must be LOGGED_MODEL_READY, LOGGED_MODEL_PENDING or LOGGED_MODEL_UPLOAD_FAILED"
        )
    return {"model": logged_model_json(lm.finalize_logged_model(client.store, body.model_id, name))}


def delete(client: Client, body: ModelIdRef) -> dict[str, Any]:
    lm.delete_logged_model(client.store, body.model_id)
    return {}


def set_tags(client: Client, body: SetTags) -> dict[str, Any]:
    lm.set_logged_model_tags(
        client.store, body.model_id, check_tags({t.key: t.value for t in body.tags})
    )
    return {}


def delete_tag(client: Client, body: DeleteTag) -> dict[str, Any]:
    lm.delete_logged_model_tag(client.store, body.model_id, body.tag_key)
    return {}


def log_params(client: Client, body: LogParams) -> dict[str, Any]:
    lm.log_logged_model_params(client.store, body.model_id, _params(body.params))
    return {}


def search(client: Client, body: SearchLoggedModels) -> dict[str, Any]:
    found = lm.search_logged_models(client.store, body.experiment_ids, body.filter)
    chunk, token = page(found, offset_of(body.page_token), body.max_results)
    out: dict[str, Any] = {"models": [logged_model_json(m) for m in chunk]}
    if token:
        out["next_page_token"] = token
    return out


def log_outputs(client: Client, body: LogOutputs) -> dict[str, Any]:
    """A run names the models it produced. The link is already on each model
    (``source_run_id``); this checks both ends exist and records nothing more."""
    run_id = body.the_run_id()
    if run_id is None:
        raise InvalidInput("missing value for required parameter 'run_id'; name the run")
    client.get_run(run_id)
    for output in body.models:
        lm.get_logged_model(client.store, output.model_id)
    return {}


# -- grants ----------------------------------------------------------------------------


def _forbidden() -> list[Scope]:
    return [Scope("nothing", ("",), Permission.MANAGE)]  # unknown: refused as if forbidden


def _of_model(need: Permission) -> Any:
    def scope(client: Client, body: ModelIdRef) -> list[Scope]:
        try:
            model = lm.get_logged_model(client.store, body.model_id)
        except NotFound:
            return _forbidden()
        return [Scope("experiment", (model.experiment_id,), need)]

    return scope


def _of_create(client: Client, body: CreateLoggedModel) -> list[Scope]:
    return [Scope("experiment", (body.experiment_id,), EDIT)]


def _of_search(client: Client, body: SearchLoggedModels) -> list[Scope]:
    return [Scope("experiment", (e,), READ) for e in body.experiment_ids]


_LM = f"{PREFIX}/logged-models"

#: every logged-model endpoint; ``search`` comes before ``{model_id}`` so it is matched first
# fmt: off
LOGGED_MODEL_ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(_LM, ("POST",), CreateLoggedModel, EDIT, create, _MISSING, _of_create),
    Endpoint(f"{_LM}/search", ("POST",), SearchLoggedModels, READ, search, _MISSING, _of_search),
    Endpoint(f"{_LM}/{{model_id}}", ("GET",), ModelIdRef, READ, get, _MISSING, _of_model(READ)),
    Endpoint(f"{_LM}/{{model_id}}", ("PATCH",), Finalize, EDIT, finalize, _MISSING,
             _of_model(EDIT)),
    Endpoint(f"{_LM}/{{model_id}}", ("DELETE",), ModelIdRef, EDIT, delete, _MISSING,
             _of_model(EDIT)),
    Endpoint(f"{_LM}/{{model_id}}/tags", ("PATCH",), SetTags, EDIT, set_tags, _MISSING,
             _of_model(EDIT)),
    Endpoint(f"{_LM}/{{model_id}}/tags/{{tag_key}}", ("DELETE",), DeleteTag, EDIT, delete_tag,
             _MISSING, _of_model(EDIT)),
    Endpoint(f"{_LM}/{{model_id}}/params", ("POST",), LogParams, EDIT, log_params, _MISSING,
             _of_model(EDIT)),
    Endpoint(f"{PREFIX}/runs/outputs", ("POST",), LogOutputs, EDIT, log_outputs,
             "no run or logged model with this id; check the ids"),
)
# fmt: on
