"""A third-party modelpack flavor, packaged on its own: numpy polynomial fits.

It plugs in exactly as the built-in flavors do, through the ``modelpack.flavors``
entry point declared in this folder's ``pyproject.toml`` — no change to modelpack::

    pip install ./examples/third_party_flavor
    python -c "import modelpack_polyfit as p, numpy as np; \\
               p.save_model(np.polynomial.Polynomial.fit([0, 1, 2], [1, 3, 5], 1), 'poly')"
    modelpack serve -m poly

The coefficients are stored as JSON, so loading executes no code and needs no trust.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from modelpack.environment import pinned
from modelpack.errors import InvalidInput, ModelFormatError
from modelpack.mlmodel import PYFUNC_FLAVOR
from modelpack.model_dir import safe_join
from modelpack.saving import save_model_dir
from modelpack.types import JSONDict, Params

FLAVOR_NAME = "polyfit"
DATA_FILE = "polynomial.json"


def save_model(
    poly: np.polynomial.Polynomial, path: str | os.PathLike[str], **kwargs: Any
) -> JSONDict:
    """Save a fitted ``numpy.polynomial.Polynomial`` as a model directory."""
    if not isinstance(poly, np.polynomial.Polynomial):
        raise InvalidInput(f"expected numpy.polynomial.Polynomial, got {type(poly).__name__}")

    def write(tmp: Path) -> dict[str, JSONDict]:
        body = {
            "coef": poly.coef.tolist(),
            "domain": poly.domain.tolist(),
            "window": poly.window.tolist(),
        }
        (tmp / DATA_FILE).write_text(json.dumps(body))
        return {
            PYFUNC_FLAVOR: {"loader_module": __name__, "data": DATA_FILE},
            FLAVOR_NAME: {"data": DATA_FILE, "numpy_version": np.__version__},
        }

    return save_model_dir(path, write, default_requirements=[pinned("numpy")], **kwargs)


class _Predictor:
    def __init__(self, poly: np.polynomial.Polynomial) -> None:
        self.raw_model = poly

    def predict(self, data: Any, params: Params | None = None) -> Any:
        values = data.iloc[:, 0].to_numpy() if hasattr(data, "iloc") else np.asarray(data)
        return self.raw_model(values.astype(float))


class PolyfitFlavor:
    name = FLAVOR_NAME
    loader_modules = frozenset({__name__})

    def load_pyfunc(self, model_dir: Path, mlmodel: JSONDict, *, trust: bool) -> _Predictor:
        path = safe_join(
            model_dir, mlmodel["flavors"][FLAVOR_NAME].get("data"), what="polyfit.data"
        )
        try:
            body = json.loads(path.read_text())
            poly = np.polynomial.Polynomial(
                body["coef"], domain=body["domain"], window=body["window"]
            )
        except (OSError, ValueError, KeyError, TypeError):
            raise ModelFormatError(f"'{path.name}' is not a valid polynomial file") from None
        return _Predictor(poly)


FLAVOR = PolyfitFlavor()
