"""The model registry endpoints of MLflow's REST API (``/api/2.0/mlflow/registered-models/…``
and ``…/model-versions/…``) on the public :class:`modelpack.tracking.Client`.

Grants: every request on one model needs its permission on that model; creating a
version also needs READ on whatever the source belongs to (a run's experiment), so a
registry grant never opens a run the user could not read.
"""

from __future__ import annotations

from typing import Any

from modelpack.errors import InvalidInput
from modelpack.server import artifact_io
from modelpack.server import registry_wire as rw
from modelpack.server.endpoint import Endpoint, Permission, Scope
from modelpack.server.routes import PREFIX, offset_of, page
from modelpack.tracking.client import Client
from modelpack.tracking.names import check_name, check_tags
from modelpack.tracking.stores.sql import registry

READ, EDIT, MANAGE = Permission.READ, Permission.EDIT, Permission.MANAGE
_NO_MODEL = "no registered model with this name; create it first"
_NO_VERSION = "no such registered model or version; check the name and version"
_NO_ALIAS = "no such registered model or alias; check the name and alias"
_BAD_FILTER = (
    "filter could not be read: write clauses like name = 'iris', name LIKE 'iris%' or "
    "run_id = '<id>', joined by AND"
)


def _tags(pairs: list[Any]) -> dict[str, str]:
    return check_tags({pair.key: pair.value for pair in pairs})


def _paged(items: list[Any], body: rw.SearchRegistry, key: str, render: Any) -> dict[str, Any]:
    chunk, token = page(items, offset_of(body.page_token), body.max_results)
    out: dict[str, Any] = {key: [render(item) for item in chunk]}
    if token:
        out["next_page_token"] = token
    return out


# -- registered models -----------------------------------------------------------------


def create_registered_model(client: Client, body: rw.CreateRegisteredModel) -> dict[str, Any]:
    model = client.create_registered_model(body.name, _tags(body.tags), body.description)
    return {"registered_model": rw.registered_model_json(model)}


def get_registered_model(client: Client, body: rw.ModelRef) -> dict[str, Any]:
    return {"registered_model": rw.registered_model_json(client.get_registered_model(body.name))}


def rename_registered_model(client: Client, body: rw.RenameRegisteredModel) -> dict[str, Any]:
    model = client.rename_registered_model(body.name, body.new_name)
    return {"registered_model": rw.registered_model_json(model)}


def update_registered_model(client: Client, body: rw.UpdateRegisteredModel) -> dict[str, Any]:
    model = client.update_registered_model(body.name, body.description)
    return {"registered_model": rw.registered_model_json(model)}


def delete_registered_model(client: Client, body: rw.ModelRef) -> dict[str, Any]:
    client.delete_registered_model(body.name)
    return {}


def search_registered_models(client: Client, body: rw.SearchRegistry) -> dict[str, Any]:
    try:
        found = client.search_registered_models(body.filter)
    except InvalidInput:
        raise InvalidInput(_BAD_FILTER) from None
    return _paged(found, body, "registered_models", rw.registered_model_json)


def get_latest_versions(client: Client, body: rw.GetLatestVersions) -> dict[str, Any]:
    found = client.get_latest_versions(body.name, body.stages or None)
    return {"model_versions": [rw.model_version_json(v) for v in found]}


def set_registered_model_tag(client: Client, body: rw.ModelTag) -> dict[str, Any]:
    client.set_registered_model_tag(body.name, body.key, body.value)
    return {}


def delete_registered_model_tag(client: Client, body: rw.ModelTagKey) -> dict[str, Any]:
    client.delete_registered_model_tag(body.name, body.key)
    return {}


def set_alias(client: Client, body: rw.SetAlias) -> dict[str, Any]:
    client.set_registered_model_alias(body.name, body.alias, body.version)
    return {}


def delete_alias(client: Client, body: rw.AliasRef) -> dict[str, Any]:
    client.delete_registered_model_alias(body.name, body.alias)
    return {}


def get_by_alias(client: Client, body: rw.AliasRef) -> dict[str, Any]:
    version = client.get_model_version_by_alias(body.name, body.alias)
    return {"model_version": rw.model_version_json(version)}


# -- model versions --------------------------------------------------------------------


def create_model_version(client: Client, body: rw.CreateModelVersion) -> dict[str, Any]:
    found = artifact_io.model_source(client.store, body.source)
    try:
        version = registry.create_model_version(
            client.store, check_name(body.name), found.directory, body.source,
            body.run_id or found.run_id, _tags(body.tags), body.description or "",
        )  # fmt: skip
    finally:
        found.release()
    return {"model_version": rw.model_version_json(version)}


def get_model_version(client: Client, body: rw.VersionRef) -> dict[str, Any]:
    return {
        "model_version": rw.model_version_json(client.get_model_version(body.name, body.version))
    }


def update_model_version(client: Client, body: rw.UpdateModelVersion) -> dict[str, Any]:
    version = client.update_model_version(body.name, body.version, body.description)
    return {"model_version": rw.model_version_json(version)}


def delete_model_version(client: Client, body: rw.VersionRef) -> dict[str, Any]:
    client.delete_model_version(body.name, body.version)
    return {}


def search_model_versions(client: Client, body: rw.SearchRegistry) -> dict[str, Any]:
    try:
        found = client.search_model_versions(body.filter)
    except InvalidInput:
        raise InvalidInput(_BAD_FILTER) from None
    return _paged(found, body, "model_versions", rw.model_version_json)


def transition_stage(client: Client, body: rw.TransitionStage) -> dict[str, Any]:
    version = client.transition_model_version_stage(
        body.name, body.version, body.stage, body.archive_existing_versions
    )
    return {"model_version": rw.model_version_json(version)}


def get_download_uri(client: Client, body: rw.VersionRef) -> dict[str, Any]:
    version = client.get_model_version(body.name, body.version)
    return {"artifact_uri": rw.download_uri(version)}


def set_version_tag(client: Client, body: rw.VersionTag) -> dict[str, Any]:
    client.set_model_version_tag(body.name, body.version, body.key, body.value)
    return {}


def delete_version_tag(client: Client, body: rw.VersionTagKey) -> dict[str, Any]:
    client.delete_model_version_tag(body.name, body.version, body.key)
    return {}


# -- grants ----------------------------------------------------------------------------


def _on_model(need: Permission) -> Any:
    def scope(client: Client, body: rw.ModelRef) -> list[Scope]:
        return [Scope("model", (body.name,), need)]

    return scope


def _renamed(client: Client, body: rw.RenameRegisteredModel) -> list[Scope]:
    return [Scope("model", (body.name,), MANAGE), Scope("model", (body.new_name,), MANAGE)]


def _new_version(client: Client, body: rw.CreateModelVersion) -> list[Scope]:
    return [
        Scope("model", (body.name,), EDIT),
        *artifact_io.source_scopes(client.store, body.source),
    ]


def _endpoint(
    path: str, methods: tuple[str, ...], body: Any, need: Permission, handler: Any,
    missing: str, scope: Any = None,
) -> Endpoint:  # fmt: skip
    scoper = scope if scope is not None else _on_model(need)
    return Endpoint(PREFIX + path, methods, body, need, handler, missing, scoper)


def _on_nothing(client: Client, body: object) -> list[Scope]:
    return []  # a search or a create: the role decides


_RM, _MV = "/registered-models", "/model-versions"
_BOTH = ("GET", "POST")

#: every registry endpoint, with the permission each needs
# fmt: off
REGISTRY_ENDPOINTS: tuple[Endpoint, ...] = (
    _endpoint(f"{_RM}/create", ("POST",), rw.CreateRegisteredModel, EDIT,
              create_registered_model, _NO_MODEL, _on_nothing),
    _endpoint(f"{_RM}/get", ("GET",), rw.ModelRef, READ, get_registered_model, _NO_MODEL),
    _endpoint(f"{_RM}/rename", ("POST",), rw.RenameRegisteredModel, MANAGE,
              rename_registered_model, _NO_MODEL, _renamed),
    _endpoint(f"{_RM}/update", ("PATCH",), rw.UpdateRegisteredModel, EDIT,
              update_registered_model, _NO_MODEL),
    _endpoint(f"{_RM}/delete", ("DELETE",), rw.ModelRef, MANAGE, delete_registered_model,
              _NO_MODEL),
    _endpoint(f"{_RM}/search", _BOTH, rw.SearchRegistry, READ, search_registered_models,
              _NO_MODEL, _on_nothing),
    _endpoint(f"{_RM}/get-latest-versions", _BOTH, rw.GetLatestVersions, READ,
              get_latest_versions, _NO_MODEL),
    _endpoint(f"{_RM}/set-tag", ("POST",), rw.ModelTag, EDIT, set_registered_model_tag,
              _NO_MODEL),
    _endpoint(f"{_RM}/delete-tag", ("DELETE",), rw.ModelTagKey, EDIT,
              delete_registered_model_tag, _NO_MODEL),
    _endpoint(f"{_RM}/alias", ("POST",), rw.SetAlias, EDIT, set_alias, _NO_VERSION),
    _endpoint(f"{_RM}/alias", ("DELETE",), rw.AliasRef, EDIT, delete_alias, _NO_ALIAS),
    _endpoint(f"{_RM}/alias", ("GET",), rw.AliasRef, READ, get_by_alias, _NO_ALIAS),
    _endpoint(f"{_MV}/create", ("POST",), rw.CreateModelVersion, EDIT, create_model_version,
              "no such registered model or source; create the model and check the source",
              _new_version),
    _endpoint(f"{_MV}/get", ("GET",), rw.VersionRef, READ, get_model_version, _NO_VERSION),
    _endpoint(f"{_MV}/update", ("PATCH",), rw.UpdateModelVersion, EDIT, update_model_version,
              _NO_VERSION),
    _endpoint(f"{_MV}/delete", ("DELETE",), rw.VersionRef, MANAGE, delete_model_version,
              _NO_VERSION),
    _endpoint(f"{_MV}/search", _BOTH, rw.SearchRegistry, READ, search_model_versions,
              _NO_VERSION, _on_nothing),
    _endpoint(f"{_MV}/transition-stage", ("POST",), rw.TransitionStage, EDIT, transition_stage,
              _NO_VERSION),
    _endpoint(f"{_MV}/get-download-uri", ("GET",), rw.VersionRef, READ, get_download_uri,
              _NO_VERSION),
    _endpoint(f"{_MV}/set-tag", ("POST",), rw.VersionTag, EDIT, set_version_tag, _NO_VERSION),
    _endpoint(f"{_MV}/delete-tag", ("DELETE",), rw.VersionTagKey, EDIT, delete_version_tag,
              _NO_VERSION),
)
# fmt: on
