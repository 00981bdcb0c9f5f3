"""``GET /openapi.json`` generated from the model's signature, and ``/docs``, the model's page.

The document describes ``/invocations`` with the signature's columns (or tensors) and
params, so a client generator or a human sees exactly what the model accepts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute

from modelpack import __version__
from modelpack.serving.encoding import dumps
from modelpack.serving.http.model_state import ServedModel
from modelpack.ui.assets import static_mount

if TYPE_CHECKING:
    from modelpack.serving.http.app import ScoringApp

_JSON_TYPES: dict[str, dict[str, Any]] = {
    "boolean": {"type": "boolean"},
    "integer": {"type": "integer", "format": "int32"},
    "long": {"type": "integer", "format": "int64"},
    "float": {"type": "number", "format": "float"},
    "double": {"type": "number", "format": "double"},
    "string": {"type": "string"},
    "binary": {"type": "string", "format": "byte"},
    "datetime": {"type": "string", "format": "date-time"},
}
_ERROR = {
    "type": "object",
    "properties": {"error_code": {"type": "string"}, "message": {"type": "string"}},
}


def _tensor_items(dtype: Any) -> dict[str, Any]:
    kind = dtype.kind
    if kind == "b":
        return {"type": "boolean"}
    if kind in "iu":
        return {"type": "integer"}
    if kind == "f":
        return {"type": "number"}
    return {"type": "string"}


def _nested(items: dict[str, Any], rank: int) -> dict[str, Any]:
    for _ in range(rank):
        items = {"type": "array", "items": items}
    return items


def request_schema(served: ServedModel) -> dict[str, Any]:
    """JSON Schema of the ``/invocations`` body for this model's signature."""
    schema = served.input_schema
    params = served.model.signature.params if served.model.signature else None
    props: dict[str, Any] = {}
    if schema is None:
        props = {k: {} for k in ("dataframe_split", "dataframe_records", "instances", "inputs")}
    elif schema.is_tensor_spec():
        tensors = {
            spec.name or "input": _nested(_tensor_items(spec.dtype), len(spec.shape))
            for spec in schema.inputs
        }
        if len(tensors) == 1:
            props["inputs"] = next(iter(tensors.values()))
        else:
            props["inputs"] = {"type": "object", "properties": tensors, "required": list(tensors)}
        props["instances"] = {"type": "array"}
    else:
        columns = {
            spec.name or str(i): _JSON_TYPES[spec.type.value]
            for i, spec in enumerate(schema.inputs)
        }
        required = schema.required_input_names()
        record = {"type": "object", "properties": columns, "required": required}
        props["dataframe_records"] = {"type": "array", "items": record}
        props["dataframe_split"] = {
            "type": "object",
            "properties": {
                "columns": {"type": "array", "items": {"enum": list(columns)}},
                "data": {"type": "array", "items": {"type": "array"}},
            },
            "required": ["data"],
        }
        props["instances"] = {"type": "array", "items": record}
        props["inputs"] = {
            "type": "object",
            "properties": {k: {"type": "array", "items": v} for k, v in columns.items()},
        }
    if params is not None:
        props["params"] = {
            "type": "object",
            "properties": {
                p.name: {**_JSON_TYPES.get(p.dtype.value, {}), "default": p.to_dict()["default"]}
                for p in params.params
            },
        }
    return {"type": "object", "properties": props, "minProperties": 1}


def document(served: ServedModel) -> dict[str, Any]:
    """The OpenAPI 3.1 document of this server."""
    ident = served.identity
    error = {"content": {"application/json": {"schema": _ERROR}}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{ident.name} (version {ident.version})",
            "version": ident.version,
            "description": f"Served by modelpack {__version__}; send exactly one input format.",
        },
        "paths": {
            "/invocations": {
                "post": {
                    "summary": "Predict",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": request_schema(served)},
                            "text/csv": {"schema": {"type": "string"}},
                            "application/vnd.apache.parquet": {"schema": {"type": "string"}},
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "Predictions",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {"predictions": {}},
                                    }
                                }
                            },
                        },
                        **{
                            code: {"description": text, **error}
                            for code, text in (
                                ("400", "Input does not match the signature"),
                                ("413", "Body too large"),
                                ("415", "Unsupported content type"),
                                ("503", "Busy or not ready"),
                                ("504", "Timed out"),
                            )
                        },
                    },
                }
            },
            "/ping": {"get": {"summary": "Ready", "responses": {"200": {"description": "Ready"}}}},
            "/metadata": {
                "get": {"summary": "Model metadata", "responses": {"200": {"description": "OK"}}}
            },
        },
    }


def routes(app: ScoringApp) -> list[BaseRoute]:
    """``/openapi.json``, ``/docs`` (the model's page) and the ``/static`` files it uses."""

    async def openapi_json(request: Request, served: ServedModel | None) -> Response:
        if served is None:
            raise app.holder.not_ready()
        return Response(dumps(document(served)), media_type="application/json")

    async def docs(request: Request, served: ServedModel | None) -> Response:
        from modelpack.ui.model_docs import render_model_docs

        if served is None:
            raise app.holder.not_ready()
        identity = served.identity
        page = await run_in_threadpool(
            render_model_docs, identity.name, identity.version, str(identity.path)
        )
        return HTMLResponse(page)

    return [
        app.route("/openapi.json", openapi_json, ["GET"]),
        app.route("/docs", docs, ["GET"]),
        static_mount(),
    ]


__all__ = ["document", "request_schema", "routes"]
