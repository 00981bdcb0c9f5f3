"""Model signatures: column and tensor schemas, their inference and their enforcement."""

from modelpack.signature.enforce import enforce_params, enforce_schema
from modelpack.signature.infer import infer_param_schema, infer_schema, infer_signature
from modelpack.signature.schema import (
    ColSpec,
    DataType,
    ModelSignature,
    ParamSchema,
    ParamSpec,
    Schema,
    TensorSpec,
)

__all__ = [
    "ColSpec",
    "DataType",
    "ModelSignature",
    "ParamSchema",
    "ParamSpec",
    "Schema",
    "TensorSpec",
    "enforce_params",
    "enforce_schema",
    "infer_param_schema",
    "infer_schema",
    "infer_signature",
]
