"""The Open Inference Protocol (KServe V2) REST routes.

Tensor models take their tensors by name; tabular models take one input per column
(``BYTES`` for strings), so mixed string and number columns work. The request's
``id`` is echoed and errors are ``{"error": "..."}``, as KServe, Triton and MLServer
clients expect. Inputs go through the same ``prepare_input`` as ``/invocations``.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

import numpy as np
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from modelpack import __version__
from modelpack.errors import InvalidInput, SchemaError
from modelpack.serving.encoding import dumps, json_value_or_text
from modelpack.serving.http.asgi import read_body
from modelpack.serving.http.model_state import ServedModel
from modelpack.serving.parsing import column_type_names, loads

if TYPE_CHECKING:
    from modelpack.serving.http.app import ScoringApp

_DTYPES = {
    "BOOL": "bool",
    **{f"UINT{n}": f"uint{n}" for n in (8, 16, 32, 64)},
    **{f"INT{n}": f"int{n}" for n in (8, 16, 32, 64)},
    "FP16": "float16",
    "FP32": "float32",
    "FP64": "float64",
    "BYTES": "object",
}
_NAMES = {np.dtype(v): k for k, v in _DTYPES.items() if k != "BYTES"}
_COLUMN_TYPES = {
    "boolean": "BOOL",
    "integer": "INT32",
    "long": "INT64",
    "float": "FP32",
    "double": "FP64",
}
_IGNORED_PARAMETERS = {"content_type", "headers"}


def datatype(dtype: np.dtype[Any]) -> str:
    """The V2 datatype name of a numpy dtype (strings and objects are ``BYTES``).

    >>> datatype(np.dtype("float32"))
    'FP32'
    """
    return _NAMES.get(dtype, "BYTES")


def tensor_metadata(served: ServedModel, outputs: bool = False) -> list[dict[str, Any]]:
    """``[{"name", "datatype", "shape"}]`` for the signature's inputs (or outputs)."""
    sig = served.model.signature
    schema = None if sig is None else (sig.outputs if outputs else sig.inputs)
    if schema is None:
        return []
    out = []
    for i, spec in enumerate(schema.inputs):
        name = spec.name or f"{'output' if outputs else 'input'}-{i}"
        if schema.is_tensor_spec():
            out.append({"name": name, "datatype": datatype(spec.dtype), "shape": list(spec.shape)})
        else:
            kind = _COLUMN_TYPES.get(spec.type.value, "BYTES")
            out.append({"name": name, "datatype": kind, "shape": [-1]})
    return out


def decode_input(item: Any, index: int) -> tuple[str, np.ndarray[Any, Any]]:
    """One request input as ``(name, array)``; declared type and shape are checked, not trusted."""
    if not isinstance(item, dict):
        raise InvalidInput(f"inputs[{index}] must be an object with name, shape, datatype, data")
    name, shape, kind, data = (item.get(k) for k in ("name", "shape", "datatype", "data"))
    if not isinstance(name, str) or not name:
        raise InvalidInput(f"inputs[{index}] needs a 'name'")
    where = f"input '{name[:64]}'"
    if kind not in _DTYPES:
        raise InvalidInput(f"{where}: datatype must be one of {', '.join(_DTYPES)}")
    if not isinstance(shape, list) or not all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape
    ):
        raise InvalidInput(f"{where}: shape must be a list of non-negative integers")
    if data is None:
        raise InvalidInput(f"{where}: 'data' is missing")
    try:
        natural = np.asarray(data, dtype=object if kind == "BYTES" else None)
    except (ValueError, TypeError, OverflowError):
        raise InvalidInput(f"{where}: 'data' is not a rectangular array") from None
    if natural.size != math.prod(shape):
        raise InvalidInput(
            f"{where}: shape {shape} needs {math.prod(shape)} values, got {natural.size}"
        )
    want = np.dtype(_DTYPES[kind])
    got = natural.dtype.kind
    if kind == "BYTES":
        if not all(isinstance(v, str) for v in natural.ravel().tolist()):
            raise SchemaError(f"{where}: BYTES data must be strings")
        return name, natural.reshape(shape)
    ok = (got == "b" and want.kind == "b") or (got in "iu" and want.kind in "iuf")
    ok = ok or (got == "f" and want.kind == "f")
    if not ok or natural.dtype == object:
        raise SchemaError(
            f"{where}: data does not match datatype {kind} (floats never become integers)"
        )
    if want.kind in "iu" and natural.size:
        info = np.iinfo(want)
        if natural.min() < info.min or natural.max() > info.max:
            raise SchemaError(f"{where}: values do not fit {kind}")
    return name, natural.astype(want).reshape(shape)


_FLOATS = ("float", "double")


def model_input(served: ServedModel, tensors: dict[str, np.ndarray[Any, Any]]) -> Any:
    """What ``prepare_input`` gets: named tensors, or one 1-D column per input for tables."""
    schema = served.input_schema
    if schema is not None and not schema.is_tensor_spec():
        # V2 clients send INT64 for any integer data (numpy's default): for a float
        # column such values are judged one by one, as JSON integers are, not refused
        # by their type
        floats = {n for n, kind in column_type_names(schema).items() if kind in _FLOATS}
        columns: dict[str, Any] = {}
        for name, arr in tensors.items():
            if arr.ndim == 2 and arr.shape[1] == 1:
                arr = arr[:, 0]
            if arr.ndim != 1:
                raise SchemaError(f"column input '{name[:64]}' must have shape [n] or [n, 1]")
            untyped = arr.dtype == object or (arr.dtype.kind in "iu" and name in floats)
            columns[name] = arr.tolist() if untyped else arr
        return columns
    if len(tensors) == 1 and (schema is None or not schema.has_input_names()):
        return next(iter(tensors.values()))
    return tensors


def _bytes_data(arr: np.ndarray) -> list[Any]:
    """A ``BYTES`` tensor's elements as JSON: text as is, binary as base64 and times as
    ISO 8601 (as ``/invocations`` writes them), missing values as null."""
    if arr.dtype.kind == "M":
        import pandas as pd

        stamps = pd.DatetimeIndex(arr.ravel())
        return [None if pd.isna(t) else t.isoformat() for t in stamps]
    out: list[Any] = []
    for value in arr.ravel().tolist():
        if isinstance(value, str) or value is None:
            out.append(value)
        elif isinstance(value, float) and math.isnan(value):
            out.append(None)
        else:
            out.append(json_value_or_text(value))
    return out


def encode_outputs(output: Any, served: ServedModel) -> list[dict[str, Any]]:
    """Model output as V2 output tensors (one per DataFrame column or dict key)."""
    kind = type(output).__name__
    if kind == "DataFrame":
        named = {str(c): output[c].to_numpy() for c in output.columns}
    elif kind == "Series":
        named = {str(output.name) if output.name is not None else "predict": output.to_numpy()}
    elif isinstance(output, dict):
        named = {str(k): np.asarray(v) for k, v in output.items()}
    else:
        sig = served.model.signature
        outs = sig.outputs if sig is not None else None
        name = outs.inputs[0].name if outs is not None and len(outs.inputs) == 1 else None
        named = {name or "predict": np.asarray(output)}
    result = []
    for name, arr in named.items():
        dtype = datatype(arr.dtype)
        data = _bytes_data(arr) if dtype == "BYTES" else arr.ravel()
        result.append({"name": name, "datatype": dtype, "shape": list(arr.shape), "data": data})
    return result


def _check_model(request: Request, served: ServedModel | None, app: ScoringApp) -> ServedModel:
    if served is None:
        raise app.holder.not_ready()
    name = request.path_params.get("name")
    version = request.path_params.get("version")
    ident = served.identity
    if name != ident.name or (version is not None and version != ident.version):
        raise HTTPException(
            404, f"this server serves model '{ident.name}' version '{ident.version}' only"
        )
    return served


def routes(app: ScoringApp) -> list[Route]:
    """The V2 routes, wired through ``app.route`` (timing, metrics, JSON errors)."""

    async def server_meta(request: Request, served: ServedModel | None) -> Response:
        return Response(
            dumps({"name": "modelpack", "version": __version__, "extensions": []}),
            media_type="application/json",
        )

    async def live(request: Request, served: ServedModel | None) -> Response:
        return Response(b'{"live":true}', media_type="application/json")

    async def ready(request: Request, served: ServedModel | None) -> Response:
        if served is None:
            raise app.holder.not_ready()
        return Response(b'{"ready":true}', media_type="application/json")

    async def model_meta(request: Request, served: ServedModel | None) -> Response:
        served = _check_model(request, served, app)
        doc = {
            "name": served.identity.name,
            "versions": [served.identity.version],
            "platform": f"modelpack-{served.model.flavor.name}",
            "inputs": tensor_metadata(served),
            "outputs": tensor_metadata(served, outputs=True),
        }
        return Response(dumps(doc), media_type="application/json")

    async def model_ready(request: Request, served: ServedModel | None) -> Response:
        served = _check_model(request, served, app)
        return Response(
            dumps({"name": served.identity.name, "ready": True}), media_type="application/json"
        )

    async def infer(request: Request, served: ServedModel | None) -> Response:
        served = _check_model(request, served, app)
        deadline = time.monotonic() + app.config.timeout
        served.batcher.arriving += 1
        try:
            doc = loads(await read_body(request, app.config.max_body_bytes))
            if (
                not isinstance(doc, dict)
                or not isinstance(doc.get("inputs"), list)
                or not doc["inputs"]
            ):
                raise InvalidInput("the body must be an object with a non-empty 'inputs' list")
            tensors = dict(decode_input(item, i) for i, item in enumerate(doc["inputs"]))
            if len(tensors) != len(doc["inputs"]):
                raise InvalidInput("two inputs have the same name; each input names one tensor")
            parameters = doc.get("parameters")
            if parameters is not None and not isinstance(parameters, dict):
                raise InvalidInput("'parameters' must be a JSON object of name: value")
            params = None
            if parameters:
                params = {
                    k: v for k, v in parameters.items() if k not in _IGNORED_PARAMETERS
                } or None
            data, params = served.enforce(model_input(served, tensors), params)
        finally:
            served.batcher.arriving -= 1
        output = await served.batcher.predict(data, params, max(deadline - time.monotonic(), 0.001))
        answer: dict[str, Any] = {
            "model_name": served.identity.name,
            "model_version": served.identity.version,
            "outputs": encode_outputs(output, served),
        }
        if "id" in doc:
            answer["id"] = doc["id"] if isinstance(doc["id"], str) else str(doc["id"])[:256]
        return Response(dumps(answer), media_type="application/json")

    get, post = ["GET"], ["POST"]
    out = [
        app.route("/v2", server_meta, get, v2=True),
        app.route("/v2/health/live", live, get, v2=True),
        app.route("/v2/health/ready", ready, get, v2=True),
    ]
    for base in ("/v2/models/{name}", "/v2/models/{name}/versions/{version}"):
        out += [
            app.route(base, model_meta, get, v2=True),
            app.route(base + "/ready", model_ready, get, v2=True),
            app.route(base + "/infer", infer, post, v2=True),
        ]
    return out


__all__ = ["datatype", "decode_input", "encode_outputs", "model_input", "routes", "tensor_metadata"]
