"""The ``MLmodel`` file: reading, writing and the keys modelpack relies on.

The file is YAML in MLflow's layout. Keys modelpack does not know are kept as they
are, so a load/save round trip never drops what another tool wrote.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from modelpack.errors import ModelFormatError, ModelNotFound
from modelpack.model_files import open_regular
from modelpack.types import JSONDict

MLMODEL_FILE = "MLmodel"
PYFUNC_FLAVOR = "python_function"
#: Top-level key holding ``{relative path: sha256 hex}`` for every payload file.
HASHES_KEY = "modelpack_sha256"


def _yaml() -> Any:
    import yaml

    return yaml


def read_mlmodel(model_dir: str | os.PathLike[str]) -> JSONDict:
    """Parse ``model_dir/MLmodel`` into a dict, with typed errors for every failure.

    >>> read_mlmodel("path/to/model")["flavors"]  # doctest: +SKIP
    {'python_function': {...}, 'sklearn': {...}}
    """
    path = Path(model_dir) / MLMODEL_FILE
    if not Path(model_dir).is_dir():
        raise ModelNotFound(f"no model directory at '{model_dir}'")
    if not os.path.lexists(path):
        raise ModelFormatError(
            f"'{model_dir}' is not a model directory: it has no {MLMODEL_FILE} file"
        )
    yaml = _yaml()
    try:
        with open_regular(path, MLMODEL_FILE) as handle:  # never a link, a FIFO or a device
            text = handle.read().decode("utf-8")
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ModelFormatError(
            f"{MLMODEL_FILE} in '{model_dir}' cannot be read as YAML ({type(exc).__name__}); "
            "the file is corrupt — save the model again"
        ) from None
    if not isinstance(data, dict):
        raise ModelFormatError(
            f"{MLMODEL_FILE} in '{model_dir}' must be a YAML mapping, got {type(data).__name__}"
        )
    flavors = data.get("flavors")
    if not isinstance(flavors, dict) or not flavors:
        raise ModelFormatError(
            f"{MLMODEL_FILE} in '{model_dir}' has no 'flavors' mapping; save the model again"
        )
    for name, block in flavors.items():
        if not isinstance(block, dict):
            raise ModelFormatError(
                f"{MLMODEL_FILE} in '{model_dir}': flavor '{name}' must be a mapping"
            )
    return data


def write_mlmodel(model_dir: str | os.PathLike[str], mlmodel: JSONDict) -> None:
    """Write ``mlmodel`` to ``model_dir/MLmodel`` (via a temporary file and a rename)."""
    yaml = _yaml()
    target = Path(model_dir) / MLMODEL_FILE
    tmp = target.with_name(f".{MLMODEL_FILE}.{uuid.uuid4().hex}.tmp")
    text = yaml.dump(mlmodel, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False)
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)


def new_mlmodel(*, flavors: JSONDict, metadata: JSONDict | None = None) -> JSONDict:
    """The common keys of a freshly saved model; flavors fill in the rest."""
    from modelpack import __version__

    mlmodel: JSONDict = {
        "flavors": flavors,
        "model_uuid": uuid.uuid4().hex,
        "modelpack_version": __version__,
        "utc_time_created": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),
    }
    if metadata:
        mlmodel["metadata"] = metadata
    return mlmodel


__all__ = [
    "HASHES_KEY",
    "MLMODEL_FILE",
    "PYFUNC_FLAVOR",
    "new_mlmodel",
    "read_mlmodel",
    "write_mlmodel",
]
