"""Models into runs and the registry: what every flavor's ``log_model`` calls.

>>> info = log_model_dir(lambda path: save_model(model, path), "model",  # doctest: +SKIP
...                      registered_model_name="iris")
>>> info.model_uri  # doctest: +SKIP
'runs:/4f1c.../model'
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from modelpack.errors import InvalidInput, ModelFormatError
from modelpack.mlmodel import read_mlmodel, write_mlmodel
from modelpack.tracking.client import Client
from modelpack.tracking.entities import ModelInfo, ModelVersion
from modelpack.tracking.fluent import active_run, start_run
from modelpack.tracking.names import check_artifact_path, check_name, check_tags


def model_name_in_run(name: str | None, artifact_path: str | None, *, stacklevel: int = 2) -> str:
    """``name``, or MLflow 2's ``artifact_path`` for it (deprecated, with a warning).

    MLflow 3 renamed ``log_model(model, artifact_path=...)`` to ``name=``; code written
    for MLflow 2 keeps working, and is told the new spelling.
    """
    if artifact_path is not None:
        if name is not None:
            raise InvalidInput(
                "log_model got both name and artifact_path; they are the same thing: pass name only"
            )
        warnings.warn(
            "log_model(artifact_path=...) is deprecated; pass name=... instead (as MLflow 3 does)",
            DeprecationWarning,
            stacklevel=stacklevel + 1,
        )
        name = artifact_path
    if name is None:
        raise InvalidInput(
            "log_model needs the model's name in the run, e.g. log_model(model, name='model')"
        )
    return name


def log_model_dir(
    save: Callable[[Path], object],
    name: str | None,
    *,
    registered_model_name: str | None = None,
    artifact_path: str | None = None,
) -> ModelInfo:
    """Save a model with ``save(path)`` straight into the active run (started if needed).

    ``save`` gets a fresh local path that does not exist yet (on a local store's file
    system); the finished directory is published into the run's artifacts at ``name``
    (renamed in one step, or uploaded with ``MLmodel`` last), so readers never see a
    half-written model. ``artifact_path`` is MLflow 2's
    deprecated spelling of ``name``; a flavor's ``log_model`` passes it through.
    """
    name = model_name_in_run(name, artifact_path, stacklevel=3)
    artifact_path = check_artifact_path(name, "model name in the run")
    if registered_model_name is not None:
        check_name(registered_model_name)
    active = active_run() or start_run()
    client, run_id = active.client, active.info.run_id
    client.get_run(run_id)  # NotFound before the model is saved, not after
    staged_root = client.backend.staging_path()
    staged = staged_root / "model"
    model_uri = f"runs:/{run_id}/{artifact_path}"
    version = None
    try:
        save(staged)
        if not staged.is_dir():
            raise ModelFormatError(
                f"log_model: the save function wrote no model directory for '{artifact_path}'"
            )
        mlmodel = read_mlmodel(staged)
        mlmodel["run_id"] = run_id
        mlmodel["artifact_path"] = artifact_path
        write_mlmodel(staged, mlmodel)
        client.backend.place_model(run_id, staged, artifact_path)
        if registered_model_name is not None:
            # a server's or an S3 store uploaded the staged copy and left it: register
            # from it rather than download what was just sent
            local = staged if staged.is_dir() else client.model_dir(model_uri)
            version = client.backend.create_model_version(
                registered_model_name, local, model_uri, run_id, {}, "", True
            ).version
    finally:
        client.backend.discard_staging(staged_root)
    signature = mlmodel.get("signature")
    return ModelInfo(
        model_uri=model_uri,
        run_id=run_id,
        artifact_path=artifact_path,
        registered_model_version=version,
        flavors=dict(mlmodel.get("flavors") or {}),
        signature=signature if isinstance(signature, dict) else None,
        model_uuid=mlmodel.get("model_uuid"),
    )


def register_model(
    model_uri: str | os.PathLike[str],
    name: str,
    await_registration_for: int = 300,
    *,
    tags: Mapping[str, Any] | None = None,
    client: Client | None = None,
) -> ModelVersion:
    """Register the model at ``model_uri`` as the next version of ``name`` (created if new).

    The model directory is copied into the store and verified, so the version does
    not depend on ``model_uri`` afterwards. Registration finishes before this returns,
    so MLflow's ``await_registration_for`` has nothing to wait for (accepted, unused).

    >>> modelpack.register_model("runs:/4f1c.../model", "iris").version  # doctest: +SKIP
    3
    """
    from modelpack.tracking.snapshots.cache import release_download
    from modelpack.tracking.uri_forms import parse_runs_uri

    client = client or Client()
    name = check_name(name)
    source = os.fspath(model_uri)
    run_id = parse_runs_uri(source)[0] if source.startswith("runs:") else None
    model_dir = client.model_dir(source)
    try:
        return client.backend.create_model_version(
            name, model_dir, source, run_id, check_tags(tags), "", True
        )
    finally:
        release_download(model_dir)  # a runs:/ model downloaded from S3 for the snapshot


__all__ = ["log_model_dir", "register_model"]
