"""Every error modelpack raises on purpose.

::

    ModelpackError                      code            HTTP
    ├── InvalidInput (ValueError)       INVALID_PARAMETER_VALUE  400
    │   ├── SchemaError                 BAD_REQUEST      400
    │   ├── InvalidName                 INVALID_PARAMETER_VALUE  400
    │   └── InvalidURI                  INVALID_PARAMETER_VALUE  400
    ├── NotFound (LookupError)          RESOURCE_DOES_NOT_EXIST  404
    │   ├── FlavorNotFound
    │   └── ModelNotFound
    ├── AlreadyExists                   RESOURCE_ALREADY_EXISTS  409
    ├── ModelFormatError                INVALID_STATE    422
    │   ├── IntegrityError              (payload hash mismatch)
    │   ├── UnsafePathError             (a path escapes the model directory)
    │   └── UnsupportedFileError        (a FIFO, socket or device in a model directory)
    ├── UntrustedPayloadError           PERMISSION_DENIED 403
    ├── Unauthenticated                 UNAUTHENTICATED  401  (tracking server auth)
    ├── PermissionDenied                PERMISSION_DENIED 403  (tracking server auth)
    ├── DependencyMissing (ImportError) FEATURE_DISABLED 501
    ├── StoreError                      INTERNAL_ERROR   500
    ├── EnvironmentBuildError           INTERNAL_ERROR   500
    ├── PredictionError                 BAD_REQUEST      400
    ├── ModelValidationFailed           BAD_REQUEST      400  (evaluation thresholds)
    └── PromotionRefused                INVALID_STATE    409  (--require-evaluation)

Each class carries a stable ``error_code`` (MLflow's names, so clients that parse
MLflow errors keep working) and the HTTP status the server maps it to. Messages say
what was expected, what came, where, and how to fix it; they never contain data.
"""

from __future__ import annotations


class ModelpackError(Exception):
    """Base of every error modelpack raises on purpose."""

    error_code: str = "INTERNAL_ERROR"
    http_status: int = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, str]:
        """The JSON body the HTTP layer sends: ``{"error_code": ..., "message": ...}``."""
        return {"error_code": self.error_code, "message": self.message}


class InvalidInput(ModelpackError, ValueError):
    """A caller passed a value modelpack cannot accept."""

    error_code = "INVALID_PARAMETER_VALUE"
    http_status = 400


class SchemaError(InvalidInput):
    """Input does not conform to the model's signature (or a signature is malformed)."""

    error_code = "BAD_REQUEST"


class InvalidName(InvalidInput):
    """A model, experiment, alias, param or artifact name is not allowed."""


class InvalidURI(InvalidInput):
    """A model URI cannot be parsed."""


class NotFound(ModelpackError, LookupError):
    """A named thing does not exist."""

    error_code = "RESOURCE_DOES_NOT_EXIST"
    http_status = 404


class FlavorNotFound(NotFound):
    """No installed flavor plugin has this name."""


class ModelNotFound(NotFound):
    """No model directory, run artifact or registry version at this URI."""


class AlreadyExists(ModelpackError):
    """Creating something that already exists."""

    error_code = "RESOURCE_ALREADY_EXISTS"
    http_status = 409


class ModelFormatError(ModelpackError):
    """A model directory is missing, corrupt or inconsistent."""

    error_code = "INVALID_STATE"
    http_status = 422


class IntegrityError(ModelFormatError):
    """A payload file does not match the SHA-256 recorded in ``MLmodel``."""


class UnsafePathError(ModelFormatError):
    """A path read from a model directory or request leads outside where it must stay."""


class UnsupportedFileError(ModelFormatError):
    """A model directory holds something that is not a regular file or directory."""


class UntrustedPayloadError(ModelpackError):
    """Loading this payload would execute code, and the caller has not said to trust it."""

    error_code = "PERMISSION_DENIED"
    http_status = 403


class Unauthenticated(ModelpackError):
    """A tracking server request came without valid credentials (``--auth`` is on)."""

    error_code = "UNAUTHENTICATED"
    http_status = 401


class PermissionDenied(ModelpackError):
    """The caller is known, but their role does not allow this request."""

    error_code = "PERMISSION_DENIED"
    http_status = 403


class DependencyMissing(ModelpackError, ImportError):
    """An optional library this feature needs is not installed."""

    error_code = "FEATURE_DISABLED"
    http_status = 501


class StoreError(ModelpackError):
    """The tracking or registry store failed (disk full, read-only, corrupt)."""


class EnvironmentBuildError(ModelpackError):
    """An isolated environment for a model could not be built."""


class PredictionError(ModelpackError):
    """The model itself failed while predicting on input that passed enforcement.

    A 400, as MLflow's scoring server answers: input that matches the signature but
    breaks the model (NaN into an estimator that refuses NaN, say) is the request's
    to fix; the server stays up and answers the next request.
    """

    error_code = "BAD_REQUEST"
    http_status = 400


class ModelValidationFailed(ModelpackError):
    """A candidate model failed one or more evaluation thresholds.

    ``failures`` lists one line per failed check, naming the metric and both values;
    ``result`` is the :class:`modelpack.evaluation.EvaluationResult` that failed.
    """

    error_code = "BAD_REQUEST"
    http_status = 400

    def __init__(self, message: str, failures: list[str], result: object = None) -> None:
        super().__init__(message)
        self.failures = failures
        self.result = result


class PromotionRefused(ModelpackError):
    """A promotion that requires a passing evaluation found none for this version."""

    error_code = "INVALID_STATE"
    http_status = 409


#: MLflow's name for the base error, so ported ``except mlflow.MlflowException`` still
#: catches everything modelpack raises on purpose
MlflowException = ModelpackError

__all__ = [
    "AlreadyExists",
    "DependencyMissing",
    "EnvironmentBuildError",
    "FlavorNotFound",
    "IntegrityError",
    "InvalidInput",
    "InvalidName",
    "InvalidURI",
    "MlflowException",
    "ModelFormatError",
    "ModelNotFound",
    "ModelValidationFailed",
    "ModelpackError",
    "NotFound",
    "PermissionDenied",
    "PredictionError",
    "PromotionRefused",
    "SchemaError",
    "StoreError",
    "Unauthenticated",
    "UnsafePathError",
    "UnsupportedFileError",
    "UntrustedPayloadError",
]
