"""The Open Inference Protocol (KServe V2) REST routes.

Tensor models take their tensors by name; tabular models take one input per column
(``BYTES`` for strings), so mixed string and number columns work. The request's
``id`` is echoed and errors are ``{"error": "..."}``, as KServe, Triton and MLServer
clients expect. Inputs go through the same ``prepare_input`` as ``/invocations``.
Requests are read and checked by :mod:`v2_request`; the binary tensor data extension
(``tritonclient``'s default) is :mod:`v2_binary`. Outputs carry the names
``GET /v2/models/{name}`` declares, and a request naming ``outputs`` gets those, in
its order.
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
from modelpack.serving.http import v2_binary
from modelpack.serving.http.asgi import read_body
from modelpack.serving.http.model_state import ServedModel
from modelpack.serving.http.v2_request import (
    DTYPES,
    InferRequest,
    check_input_names,
    decode_input,
    parse_infer_request,
)
from modelpack.serving.parsing import column_type_names

if TYPE_CHECKING:
    from modelpack.serving.http.app import ScoringApp

_NAMES: dict[np.dtype[Any], str] = {np.dtype(v): k for k, v in DTYPES.items() if k != "BYTES"}
_COLUMN_TYPES = {
    "boolean": "BOOL",
    "integer": "INT32",
    "long": "INT64",
    "float": "FP32",
    "double": "FP64",
}


def datatype(dtype: np.dtype[Any]) -> str:
    """The V2 datatype name of a numpy dtype (strings and objects are ``BYTES``).

    >>> datatype(np.dtype("float32"))
    'FP32'
    """
    return str(_NAMES.get(dtype, "BYTES"))


def output_name(index: int, count: int) -> str:
    """The V2 name of an unnamed output: ``predict`` when it is the only one (as
    MLServer names a model's predictions), else ``output-<index>``."""
    return "predict" if count == 1 else f"output-{index}"


def tensor_metadata(served: ServedModel, outputs: bool = False) -> list[dict[str, Any]]:
    """``[{"name", "datatype", "shape"}]`` for the signature's inputs (or outputs)."""
    sig = served.model.signature
    schema = None if sig is None else (sig.outputs if outputs else sig.inputs)
    if schema is None:
        return []
    out = []
    count = len(schema.inputs)
    for i, spec in enumerate(schema.inputs):
        name = spec.name or (output_name(i, count) if outputs else f"input-{i}")
        if schema.is_tensor_spec():
            out.append({"name": name, "datatype": datatype(spec.dtype), "shape": list(spec.shape)})
        else:
            kind = _COLUMN_TYPES.get(spec.type.value, "BYTES")
            out.append({"name": name, "datatype": kind, "shape": [-1]})
    return out


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
    """Model output as V2 output tensors (one per DataFrame column or dict key), named
    as ``GET /v2/models/{name}`` lists them."""
    kind = type(output).__name__
    if kind == "DataFrame":
        named = {str(c): output[c].to_numpy() for c in output.columns}
    elif kind == "Series":
        name = str(output.name) if output.name is not None else _single_output_name(served)
        named = {name: output.to_numpy()}
    elif isinstance(output, dict):
        named = {str(k): np.asarray(v) for k, v in output.items()}
    else:
        named = {_single_output_name(served): np.asarray(output)}
    result = []
    for name, arr in named.items():
        dtype = datatype(arr.dtype)
        data = _bytes_data(arr) if dtype == "BYTES" else arr.ravel()
        result.append({"name": name, "datatype": dtype, "shape": list(arr.shape), "data": data})
    return result


def _single_output_name(served: ServedModel) -> str:
    sig = served.model.signature
    outs = sig.outputs if sig is not None else None
    if outs is not None and len(outs.inputs) == 1 and outs.inputs[0].name:
        return str(outs.inputs[0].name)
    return output_name(0, 1)


def select_outputs(
    outputs: list[dict[str, Any]], request: InferRequest
) -> tuple[list[dict[str, Any]], list[bytes]]:
    """The outputs the request asked for, in its order (all when it names none), and the
    binary data of those going back as binary data (their ``data`` moved out)."""
    if request.outputs is None:
        chosen = [(o, request.binary_output) for o in outputs]
    else:
        by_name = {o["name"]: o for o in outputs}
        unknown = [name for name, _ in request.outputs if name not in by_name]
        if unknown:
            shown = ", ".join(f"'{n[:64]}'" for n in unknown[:5])
            has = ", ".join(f"'{n}'" for n in list(by_name)[:20])
            raise InvalidInput(f"the model has no output(s) {shown}; its outputs are {has}")
        chosen = [(by_name[name], binary) for name, binary in request.outputs]
    answer, chunks = [], []
    for out, binary in chosen:
        if binary:
            dtype = None if out["datatype"] == "BYTES" else np.dtype(DTYPES[out["datatype"]])
            raw = v2_binary.encode_tensor(out["data"], out["datatype"], dtype)
            out = {k: v for k, v in out.items() if k != "data"}
            out["parameters"] = {"binary_data_size": len(raw)}
            chunks.append(raw)
        answer.append(out)
    return answer, chunks


def _param_names(served: ServedModel) -> frozenset[str]:
    sig = served.model.signature
    if sig is None or sig.params is None:
        return frozenset()
    return frozenset(spec.name for spec in sig.params.params)


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
            dumps(
                {"name": "modelpack", "version": __version__, "extensions": ["binary_tensor_data"]}
            ),
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
            body = await read_body(request, app.config.max_body_bytes)
            header = request.headers.get(v2_binary.HEADER)
            parsed = parse_infer_request(body, header, _param_names(served))
            check_input_names(served.input_schema, list(parsed.tensors))
            data, params = served.enforce(model_input(served, parsed.tensors), parsed.params)
        finally:
            served.batcher.arriving -= 1
        output = await served.batcher.predict(data, params, max(deadline - time.monotonic(), 0.001))
        outputs, chunks = select_outputs(encode_outputs(output, served), parsed)
        answer: dict[str, Any] = {
            "model_name": served.identity.name,
            "model_version": served.identity.version,
            "outputs": outputs,
        }
        if parsed.id is not None:
            answer["id"] = parsed.id
        head = dumps(answer)
        if not chunks:
            return Response(head, media_type="application/json")
        return Response(
            b"".join([head, *chunks]),
            media_type="application/octet-stream",
            headers={v2_binary.HEADER: str(len(head))},
        )

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


__all__ = [
    "datatype",
    "decode_input",
    "encode_outputs",
    "model_input",
    "output_name",
    "routes",
    "select_outputs",
    "tensor_metadata",
]
