"""MLflow's model registry wire shapes (``mlflow/protos/model_registry.proto``): pydantic
request bodies and the ``RegisteredModel`` / ``ModelVersion`` answers.

Versions travel as strings (``"3"``), as MLflow's client sends and expects them.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StrictBool, StrictStr

from modelpack.server.wire import Id, KeyValue, Text, Wire
from modelpack.tracking.entities import ModelVersion, RegisteredModel

#: a registered model name: what ``check_name`` accepts is checked again in the library
ModelName = Annotated[StrictStr, Field(min_length=1, max_length=255)]
Version = Annotated[StrictStr, Field(pattern=r"^[0-9]{1,18}$")]
Alias = Annotated[StrictStr, Field(max_length=255, pattern=r"^[\w\-]+$")]
Stage = Annotated[StrictStr, Field(min_length=1, max_length=20)]
Source = Annotated[StrictStr, Field(min_length=1, max_length=2000)]
MaxResults = Annotated[int, Field(ge=1, le=200_000)]


class ModelRef(Wire):
    name: ModelName


class CreateRegisteredModel(ModelRef):
    tags: Annotated[list[KeyValue], Field(max_length=1000)] = []
    description: Text | None = None


class RenameRegisteredModel(ModelRef):
    new_name: ModelName


class UpdateRegisteredModel(ModelRef):
    description: Text | None = None


class SearchRegistry(Wire):
    filter: Text = ""
    max_results: MaxResults = 100
    order_by: Annotated[list[Text], Field(max_length=100)] = []
    page_token: Text | None = None


class GetLatestVersions(ModelRef):
    stages: Annotated[list[Stage], Field(max_length=10)] = []


class ModelTag(ModelRef):
    key: Id
    value: Text = ""


class ModelTagKey(ModelRef):
    key: Id


class AliasRef(ModelRef):
    alias: Alias


class SetAlias(AliasRef):
    version: Version


class CreateModelVersion(ModelRef):
    source: Source
    run_id: Annotated[StrictStr, Field(pattern=r"^([0-9a-f]{32})?$")] | None = None
    tags: Annotated[list[KeyValue], Field(max_length=1000)] = []
    run_link: Text | None = None
    description: Text | None = None
    model_id: Annotated[StrictStr, Field(max_length=64)] | None = None


class VersionRef(ModelRef):
    version: Version


class UpdateModelVersion(VersionRef):
    description: Text | None = None


class TransitionStage(VersionRef):
    stage: Stage
    archive_existing_versions: StrictBool = False


class VersionTag(VersionRef):
    key: Id
    value: Text = ""


class VersionTagKey(VersionRef):
    key: Id


# -- answers -------------------------------------------------------------------------


def _pairs(values: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": key, "value": value} for key, value in values.items()]


def download_uri(version: ModelVersion) -> str:
    """Where MLflow's client downloads a version from: its snapshot, through the proxy."""
    digest = version.storage_location.rstrip("/").rsplit("/", 1)[-1]
    return f"mlflow-artifacts:/models/blobs/{digest}"


def model_version_json(version: ModelVersion) -> dict[str, Any]:
    """A ``ModelVersion`` message."""
    return {
        "name": version.name,
        "version": str(version.version),
        "creation_timestamp": version.creation_timestamp,
        "last_updated_timestamp": version.last_updated_timestamp,
        "user_id": "",
        "current_stage": version.current_stage,
        "description": version.description,
        "source": version.source,
        "run_id": version.run_id or "",
        "status": version.status,
        "tags": _pairs(version.tags),
        "aliases": list(version.aliases),
    }


def registered_model_json(model: RegisteredModel) -> dict[str, Any]:
    """A ``RegisteredModel`` message."""
    return {
        "name": model.name,
        "creation_timestamp": model.creation_timestamp,
        "last_updated_timestamp": model.last_updated_timestamp,
        "description": model.description,
        "latest_versions": [model_version_json(v) for v in model.latest_versions],
        "tags": _pairs(model.tags),
        "aliases": [
            {"alias": alias, "version": str(number)} for alias, number in model.aliases.items()
        ],
    }
