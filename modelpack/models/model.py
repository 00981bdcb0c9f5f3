"""``Model``: what MLflow users call ``mlflow.models.Model``, on modelpack's MLmodel reader.

It reads a model's ``MLmodel`` file without loading the model: flavors, signature,
input example, lineage. To predict, use :func:`modelpack.load_model`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelpack.mlmodel import MLMODEL_FILE, read_mlmodel
from modelpack.pyfunc_model import ModelMetadata
from modelpack.types import JSONDict


@dataclass(frozen=True)
class Model(ModelMetadata):
    """A model directory's ``MLmodel``, read.

    >>> model = Model.load("models:/iris/1")  # doctest: +SKIP
    >>> model.get_input_schema().input_names()  # doctest: +SKIP
    ['sepal length (cm)', 'sepal width (cm)', 'petal length (cm)', 'petal width (cm)']
    >>> sorted(model.flavors)  # doctest: +SKIP
    ['python_function', 'sklearn']
    """

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Model:
        """Read the ``MLmodel`` of a model directory (a path, ``file://``, ``runs:/`` or
        ``models:/`` URI), or the ``MLmodel`` file itself."""
        from modelpack.uris import resolve_model_uri

        text = os.fspath(path)
        if isinstance(text, str) and Path(text).name == MLMODEL_FILE and Path(text).is_file():
            directory = Path(text).resolve().parent
        else:
            directory = resolve_model_uri(text)
        return cls(path=directory, mlmodel=read_mlmodel(directory))

    @property
    def utc_time_created(self) -> str | None:
        value = self.mlmodel.get("utc_time_created")
        return None if value is None else str(value)

    @property
    def model_size_bytes(self) -> int | None:
        value = self.mlmodel.get("model_size_bytes")
        return value if isinstance(value, int) else None

    @property
    def saved_input_example_info(self) -> JSONDict | None:
        info = self.mlmodel.get("saved_input_example_info")
        return dict(info) if isinstance(info, dict) else None

    def load_input_example(self, path: str | os.PathLike[str] | None = None) -> Any:
        """The input example saved with the model, or None. ``path`` (MLflow 2 passed
        the model directory here) defaults to the directory the model was read from."""
        if path is None or Path(path).resolve() == self.path:
            return super().load_input_example()
        return Model.load(path).load_input_example()

    def to_dict(self) -> JSONDict:
        """The ``MLmodel`` contents as a dict (a copy)."""
        return dict(self.mlmodel)

    def to_yaml(self) -> str:
        """The ``MLmodel`` contents as YAML text."""
        import yaml

        return str(yaml.safe_dump(self.to_dict(), sort_keys=False))


__all__ = ["Model"]
