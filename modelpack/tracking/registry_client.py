"""The model-registry half of :class:`~modelpack.tracking.Client`: registered models,
versions, stages, tags and aliases, by name (MLflow's method names).

>>> from modelpack import Client
>>> Client().set_registered_model_alias("iris", "champion", 3)  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from modelpack.tracking.entities import ModelVersion, RegisteredModel
from modelpack.tracking.names import (
    MAX_TAG_VALUE_LENGTH,
    check_alias,
    check_key,
    check_name,
    check_run_id,
    check_stage,
    check_tags,
    check_value,
    check_version,
)
from modelpack.tracking.stores.base import TrackingStore


def description_value(text: str | None) -> str:
    """A model's, version's or experiment's description, checked (``None`` is empty)."""
    return check_value(text or "", "description", MAX_TAG_VALUE_LENGTH)


class RegistryClient:
    """Registry methods over ``backend``; :class:`~modelpack.tracking.Client` is one."""

    backend: TrackingStore

    # -- registered models -------------------------------------------------------

    def create_registered_model(
        self, name: str, tags: Mapping[str, Any] | None = None, description: str | None = None
    ) -> RegisteredModel:
        """Create a registered model name (``AlreadyExists`` if taken)."""
        return self.backend.create_registered_model(
            check_name(name), check_tags(tags), description_value(description)
        )

    def get_registered_model(self, name: str) -> RegisteredModel:
        """A registered model with its latest version per stage, tags and aliases."""
        return self.backend.get_registered_model(check_name(name))

    def search_registered_models(self, filter_string: str = "") -> list[RegisteredModel]:
        """Registered models; ``filter_string`` is ``name = 'x'`` or ``name LIKE 'x%'``."""
        from modelpack.tracking.registry_search import parse_name_filter

        name, like = parse_name_filter(filter_string)
        return self.backend.search_registered_models(name=name, name_like=like)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Rename a model; versions, tags and aliases follow."""
        self.backend.rename_registered_model(check_name(name), check_name(new_name))
        return self.get_registered_model(new_name)

    def update_registered_model(self, name: str, description: str | None = None) -> RegisteredModel:
        """Set a model's description."""
        self.backend.update_registered_model(check_name(name), description_value(description))
        return self.get_registered_model(name)

    def delete_registered_model(self, name: str) -> None:
        """Delete a model and all its versions."""
        self.backend.delete_registered_model(check_name(name))

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        """Set a tag on a registered model."""
        tags = check_tags({key: value})
        self.backend.set_model_tag(check_name(name), key, tags[key], None)

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Remove a tag from a registered model."""
        self.backend.delete_model_tag(check_name(name), check_key(key, "tag key"), None)

    # -- versions ------------------------------------------------------------------

    def create_model_version(
        self,
        name: str,
        source: str | os.PathLike[str],
        run_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
        description: str | None = None,
    ) -> ModelVersion:
        """Snapshot the model at URI ``source`` as the next version of existing model ``name``."""
        name = check_name(name)
        if run_id is not None:
            check_run_id(run_id)
        return self.backend.create_model_version(
            name, self.model_dir(source), os.fspath(source), run_id, check_tags(tags),
            description_value(description), False,
        )  # fmt: skip

    def model_dir(self, uri: str | os.PathLike[str]) -> Path:
        """The local directory of a model URI; ``runs:/`` and ``models:/`` in this client's store."""
        from modelpack.uris import resolve_model_uri

        text = os.fspath(uri)
        if isinstance(text, str) and text.startswith(("runs:", "models:")):
            return self.backend.resolve_store_uri(text)
        return resolve_model_uri(text)

    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        """One version (``ModelNotFound`` naming the model or version otherwise)."""
        return self.backend.get_model_version(check_name(name), check_version(version))

    def search_model_versions(self, filter_string: str = "") -> list[ModelVersion]:
        """Versions; ``filter_string`` is ``name = 'x'`` and/or ``run_id = '...'``."""
        from modelpack.tracking.registry_search import parse_version_filter

        name, run_id = parse_version_filter(filter_string)
        return self.backend.search_model_versions(name=name, run_id=run_id)

    def get_latest_versions(
        self, name: str, stages: Sequence[str] | None = None
    ) -> list[ModelVersion]:
        """The newest version in each stage (or in each of ``stages``)."""
        wanted = [check_stage(s) for s in stages] if stages else None
        return self.backend.get_latest_versions(check_name(name), wanted)

    def update_model_version(
        self, name: str, version: int | str, description: str | None = None
    ) -> ModelVersion:
        """Set a version's description."""
        name, number = check_name(name), check_version(version)
        self.backend.update_model_version(name, number, description_value(description))
        return self.get_model_version(name, number)

    def delete_model_version(self, name: str, version: int | str) -> None:
        """Delete a version; its number is never reused."""
        self.backend.delete_model_version(check_name(name), check_version(version))

    def transition_model_version_stage(
        self, name: str, version: int | str, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        """Move a version to ``stage`` (case-insensitive); optionally archive the others there.

        >>> Client().transition_model_version_stage("iris", 2, "Production", True)  # doctest: +SKIP
        """
        name, number, canonical = check_name(name), check_version(version), check_stage(stage)
        self.backend.transition_model_version_stage(
            name, number, canonical, bool(archive_existing_versions)
        )
        return self.get_model_version(name, number)

    def set_model_version_tag(self, name: str, version: int | str, key: str, value: Any) -> None:
        """Set a tag on one version."""
        tags = check_tags({key: value})
        self.backend.set_model_tag(check_name(name), key, tags[key], check_version(version))

    def delete_model_version_tag(self, name: str, version: int | str, key: str) -> None:
        """Remove a tag from one version."""
        self.backend.delete_model_tag(
            check_name(name), check_key(key, "tag key"), check_version(version)
        )

    # -- aliases -------------------------------------------------------------------

    def set_registered_model_alias(self, name: str, alias: str, version: int | str) -> None:
        """Point ``alias`` at a version (``latest`` and ``v<digits>`` are reserved)."""
        self.backend.set_alias(check_name(name), check_alias(alias), check_version(version))

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        """Remove an alias."""
        self.backend.delete_alias(check_name(name), check_alias(alias))

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias points at."""
        name = check_name(name)
        return self.backend.get_model_version(
            name, self.backend.version_for_alias(name, check_alias(alias))
        )


__all__ = ["RegistryClient", "description_value"]
