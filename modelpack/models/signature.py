"""``mlflow.models.signature``'s names: ``from modelpack.models.signature import infer_signature``."""

from modelpack.signature import ModelSignature, infer_signature

__all__ = ["ModelSignature", "infer_signature"]
