"""The model registry half of the REST store: MLflow's ``registered-models`` and
``model-versions`` routes, with the same results and typed errors as the SQL registry."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from modelpack.errors import AlreadyExists, InvalidInput, ModelNotFound
from modelpack.model_dir import verify_model_dir
from modelpack.tracking.entities import ModelVersion, RegisteredModel
from modelpack.tracking.snapshots.digest import manifest_digest
from modelpack.tracking.stores.rest import wire
from modelpack.tracking.stores.rest.http import HttpSession

_PAGE = 1000


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class RestRegistry:
    """Registry operations over ``self.http`` (mixed into the REST store)."""

    http: HttpSession

    def _call(self, method: str, endpoint: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return self.http.call(method, endpoint, body, missing=ModelNotFound)

    def _pages(self, endpoint: str, key: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            answer = self._call("GET", endpoint, {**body, "page_token": token})
            found.extend(item for item in answer.get(key) or [] if isinstance(item, dict))
            token = answer.get("next_page_token") or None
            if not isinstance(token, str):
                return found

    # -- registered models -------------------------------------------------------

    def create_registered_model(
        self, name: str, tags: Mapping[str, str], description: str
    ) -> RegisteredModel:
        body = {"name": name, "tags": wire.tag_list(tags), "description": description or None}
        self._call("POST", "/registered-models/create", body)
        return self.get_registered_model(name)

    def get_registered_model(self, name: str) -> RegisteredModel:
        answer = self._call("GET", "/registered-models/get", {"name": name})
        return wire.registered_model(answer.get("registered_model") or {})

    def search_registered_models(
        self, name: str | None, name_like: str | None
    ) -> list[RegisteredModel]:
        if name is not None:
            where = f"name = {_quoted(name)}"
        elif name_like is not None:
            where = f"name LIKE {_quoted(name_like)}"
        else:
            where = None
        body = {"filter": where, "max_results": _PAGE}
        found = self._pages("/registered-models/search", "registered_models", body)
        return sorted((wire.registered_model(m) for m in found), key=lambda m: m.name)

    def rename_registered_model(self, name: str, new_name: str) -> None:
        self._call("POST", "/registered-models/rename", {"name": name, "new_name": new_name})

    def update_registered_model(self, name: str, description: str) -> None:
        body = {"name": name, "description": description}
        self._call("PATCH", "/registered-models/update", body)

    def delete_registered_model(self, name: str) -> None:
        self._call("DELETE", "/registered-models/delete", {"name": name})

    def set_model_tag(self, name: str, key: str, value: str, version: int | None) -> None:
        if version is None:
            body = {"name": name, "key": key, "value": value}
            self._call("POST", "/registered-models/set-tag", body)
        else:
            body = {"name": name, "version": str(version), "key": key, "value": value}
            self._call("POST", "/model-versions/set-tag", body)

    def delete_model_tag(self, name: str, key: str, version: int | None) -> None:
        if version is None:
            self._call("DELETE", "/registered-models/delete-tag", {"name": name, "key": key})
        else:
            body = {"name": name, "version": str(version), "key": key}
            self._call("DELETE", "/model-versions/delete-tag", body)

    # -- versions ----------------------------------------------------------------

    def create_model_version(
        self,
        name: str,
        model_dir: Path,
        source: str,
        run_id: str | None,
        tags: Mapping[str, str],
        description: str,
        create_model: bool,
    ) -> ModelVersion:
        if not source.startswith("runs:/"):
            raise InvalidInput(
                "a tracking server registers models that are in a run: log the model with "
                "log_model (or log_artifacts), then register runs:/<run_id>/<path>"
            )
        mlmodel = verify_model_dir(model_dir)  # refuse a damaged model before it is registered
        if run_id is None and isinstance(mlmodel.get("run_id"), str):
            run_id = mlmodel["run_id"]
        recorded = {**tags, wire.DIGEST_TAG: manifest_digest(model_dir)}
        if create_model:
            try:
                self._call("POST", "/registered-models/create", {"name": name})
            except AlreadyExists:
                pass
        body = {
            "name": name,
            "source": source,
            "run_id": run_id,
            "tags": wire.tag_list(recorded),
            "description": description or None,
        }
        answer = self._call("POST", "/model-versions/create", body)
        return wire.model_version(answer.get("model_version") or {})

    def version_json(self, name: str, version: int) -> dict[str, Any]:
        """MLflow's JSON of one version (with the tags this store keeps out of entities)."""
        body = {"name": name, "version": str(version)}
        answer = self._call("GET", "/model-versions/get", body)
        found = answer.get("model_version")
        if not isinstance(found, dict):
            raise ModelNotFound(f"registered model '{name}' has no version {version}")
        return found

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        return wire.model_version(self.version_json(name, version))

    def search_model_versions(self, name: str | None, run_id: str | None) -> list[ModelVersion]:
        where = [f"name = {_quoted(name)}"] if name is not None else []
        if run_id is not None:
            where.append(f"run_id = {_quoted(run_id)}")
        body = {"filter": " AND ".join(where) or None, "max_results": _PAGE}
        found = self._pages("/model-versions/search", "model_versions", body)
        return sorted((wire.model_version(v) for v in found), key=lambda v: (v.name, v.version))

    def get_latest_versions(self, name: str, stages: Sequence[str] | None) -> list[ModelVersion]:
        body = {"name": name, "stages": list(stages) if stages else None}
        answer = self._call("POST", "/registered-models/get-latest-versions", body)
        found = [wire.model_version(v) for v in answer.get("model_versions") or []]
        return sorted(found, key=lambda v: v.version)

    def update_model_version(self, name: str, version: int, description: str) -> None:
        body = {"name": name, "version": str(version), "description": description}
        self._call("PATCH", "/model-versions/update", body)

    def delete_model_version(self, name: str, version: int) -> None:
        self._call("DELETE", "/model-versions/delete", {"name": name, "version": str(version)})

    def transition_model_version_stage(
        self, name: str, version: int, stage: str, archive_existing_versions: bool
    ) -> None:
        body = {
            "name": name,
            "version": str(version),
            "stage": stage,
            "archive_existing_versions": archive_existing_versions,
        }
        self._call("POST", "/model-versions/transition-stage", body)

    # -- aliases -------------------------------------------------------------------

    def set_alias(self, name: str, alias: str, version: int) -> None:
        body = {"name": name, "alias": alias, "version": str(version)}
        self._call("POST", "/registered-models/alias", body)

    def delete_alias(self, name: str, alias: str) -> None:
        self._call("DELETE", "/registered-models/alias", {"name": name, "alias": alias})

    def alias_json(self, name: str, alias: str) -> dict[str, Any]:
        """MLflow's JSON of the version ``alias`` points at (``ModelNotFound`` if none)."""
        try:
            answer = self._call("GET", "/registered-models/alias", {"name": name, "alias": alias})
        except InvalidInput:  # MLflow answers an unknown alias with INVALID_PARAMETER_VALUE
            self.get_registered_model(name)  # ModelNotFound naming the model, if that is it
            raise ModelNotFound(f"registered model '{name}' has no alias '{alias}'") from None
        found = answer.get("model_version")
        if not isinstance(found, dict):
            raise ModelNotFound(f"registered model '{name}' has no alias '{alias}'")
        return found

    def version_for_alias(self, name: str, alias: str) -> int:
        return wire.model_version(self.alias_json(name, alias)).version


__all__ = ["RestRegistry"]
