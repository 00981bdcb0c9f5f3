"""MLflow's ``mlflow.models`` names, for code ported by replacing ``mlflow`` with ``modelpack``.

>>> from modelpack.models import Model, ModelSignature, infer_signature  # doctest: +SKIP
"""

from modelpack.models.model import Model
from modelpack.signature import ModelSignature, infer_signature

__all__ = ["Model", "ModelSignature", "infer_signature"]
