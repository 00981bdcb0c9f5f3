"""Signature values and their MLflow JSON form."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
import yaml

import modelpack
from modelpack.errors import SchemaError
from modelpack.signature import (
    ColSpec,
    DataType,
    ModelSignature,
    ParamSchema,
    ParamSpec,
    Schema,
    TensorSpec,
)

# The signature blocks exactly as MLflow 2.22.5 and 3.17.2 write them into MLmodel.
MLFLOW2_MLMODEL = """\
mlflow_version: 2.22.5
signature:
  inputs: '[{"type": "long", "name": "rooms", "required": true}, {"type": "double",
    "name": "area", "required": true}, {"type": "double", "name": "age", "required":
    true}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1]}}]'
  params: null
"""
MLFLOW3_MLMODEL = """\
mlflow_version: 3.17.2
signature:
  inputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 4]}}]'
  outputs: '[{"name": "label", "type": "tensor", "tensor-spec": {"dtype": "int64",
    "shape": [-1]}}, {"name": "probabilities", "type": "tensor", "tensor-spec": {"dtype":
    "float32", "shape": [-1, 3]}}]'
  params: '[{"name": "temperature", "type": "double", "default": 0.7, "shape": null},
    {"name": "stop", "type": "string", "default": ["\\\\n"], "shape": [-1]}]'
"""


def test_datatype_knows_its_numpy_dtype() -> None:
    got = {t.value: t.to_numpy() for t in DataType}
    assert got == {
        "boolean": np.dtype(bool),
        "integer": np.dtype("int32"),
        "long": np.dtype("int64"),
        "float": np.dtype("float32"),
        "double": np.dtype("float64"),
        "string": np.dtype(object),
        "binary": np.dtype(object),
        "datetime": np.dtype("datetime64[ns]"),
    }


def test_mlflow2_mlmodel_signature_reads_and_writes_back_identically() -> None:
    block = yaml.safe_load(MLFLOW2_MLMODEL)["signature"]
    sig = ModelSignature.from_dict(block)
    assert sig.inputs == Schema(
        [ColSpec("long", "rooms"), ColSpec("double", "area"), ColSpec(DataType.double, "age")]
    )
    assert sig.outputs == Schema([TensorSpec(np.float64, (-1,))])
    assert sig.params is None
    assert sig.to_dict() == block


def test_mlflow3_mlmodel_signature_with_named_tensors_and_params() -> None:
    block = yaml.safe_load(MLFLOW3_MLMODEL)["signature"]
    sig = ModelSignature.from_dict(block)
    assert sig.inputs is not None and sig.inputs.is_tensor_spec()
    assert sig.outputs is not None and sig.outputs.input_names() == ["label", "probabilities"]
    assert sig.outputs.inputs[1] == TensorSpec("float32", (-1, 3), "probabilities")
    assert sig.params == ParamSchema(
        [ParamSpec("temperature", "double", 0.7), ParamSpec("stop", "string", ["\\n"], (-1,))]
    )
    again = ModelSignature.from_dict(sig.to_dict())
    assert again == sig
    # the same JSON values MLflow wrote (key order inside an element is not significant)
    for key in ("inputs", "outputs", "params"):
        assert json.loads(sig.to_dict()[key]) == json.loads(block[key])  # type: ignore[arg-type]


def test_json_element_forms_are_mlflows() -> None:
    schema = Schema([ColSpec("double", "x"), ColSpec("string", "city", required=False)])
    assert schema.to_json() == (
        '[{"type": "double", "name": "x", "required": true}, '
        '{"type": "string", "name": "city", "required": false}]'
    )
    assert Schema([TensorSpec("float64", (-1, 4), "x")]).to_list() == [
        {"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 4]}, "name": "x"}
    ]
    assert Schema([TensorSpec("uint8", (-1, 28, 28))]).to_list() == [
        {"type": "tensor", "tensor-spec": {"dtype": "uint8", "shape": [-1, 28, 28]}}
    ]
    assert ParamSchema([ParamSpec("k", "long", 3)]).to_json() == (
        '[{"name": "k", "type": "long", "default": 3, "shape": null}]'
    )


@pytest.mark.parametrize(
    "element, expected",
    [
        ({"type": "double", "name": "x"}, ColSpec("double", "x", True)),  # old MLflow: no required
        ({"name": "x", "type": "long", "optional": True}, ColSpec("long", "x", False)),  # 2.3-2.7
        ({"type": "string"}, ColSpec("string")),
        ({"type": "boolean", "name": "b", "required": True, "new-key": 1}, ColSpec("boolean", "b")),
        (
            {"type": "tensor", "tensor-spec": {"dtype": "<U0", "shape": [-1]}, "extra": {}},
            TensorSpec(np.dtype("U"), (-1,)),
        ),
    ],
)
def test_reads_every_form_mlflow_has_written(element: dict[str, object], expected: object) -> None:
    assert Schema.from_list([element]).inputs == (expected,)


@pytest.mark.parametrize("mlflow_type", ["array", "object", "map", "any", "Any", "sparse"])
def test_mlflow_types_modelpack_lacks_are_named_in_the_error(mlflow_type: str) -> None:
    text = json.dumps([{"type": mlflow_type, "name": "feature", "items": {"type": "long"}}])
    with pytest.raises(SchemaError, match=f"'feature'.*'{mlflow_type}'.*not support"):
        Schema.from_json(text)


@pytest.mark.parametrize(
    "block",
    [
        {"inputs": "[{'type': 'double'}]"},  # python repr, not JSON
        {"inputs": "{not json"},
        {"inputs": '{"type": "double"}'},  # an object, not a list
        {"inputs": "[1, 2]"},
        {"inputs": '[{"name": "x"}]'},  # no type
        {"inputs": '[{"type": "tensor", "name": "x"}]'},  # no tensor-spec
        {"inputs": '[{"type": "tensor", "tensor-spec": {"dtype": "float64"}}]'},
        {"inputs": '[{"type": "tensor", "tensor-spec": {"dtype": "floaty", "shape": [-1]}}]'},
        {"inputs": '[{"type": "tensor", "tensor-spec": {"dtype": "int8", "shape": "-1"}}]'},
        {"inputs": '[{"type": "double", "name": "x", "required": "yes"}]'},
        {"inputs": '[{"type": 5}]'},
        {"inputs": "[]"},
        {"inputs": 42},
        {"params": '[{"name": "k", "type": "long", "default": 1.5, "shape": null}]'},
        {"params": '[{"type": "long", "default": 1}]'},
        {"params": '[{"name": "k", "type": "long", "default": 1, "shape": [3]}]'},
        {"params": '{"k": 1}'},
    ],
)
def test_malformed_signatures_are_schema_errors_only(block: dict[str, object]) -> None:
    with pytest.raises(SchemaError):
        ModelSignature.from_dict(block)


def test_from_dict_refuses_a_non_mapping() -> None:
    with pytest.raises(SchemaError, match="mapping"):
        ModelSignature.from_dict("inputs: x")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "specs, message",
    [
        ([ColSpec("double", "x"), TensorSpec("float64", (-1,), "y")], "not a mix"),
        ([ColSpec("double", "x"), ColSpec("double")], "none of them"),
        ([ColSpec("double", "x"), ColSpec("long", "x")], "duplicate input names.*'x'"),
        ([TensorSpec("float64", (-1,)), TensorSpec("int64", (-1,))], "name every tensor"),
        ([], "at least one"),
    ],
)
def test_schema_rules(specs: list[object], message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        Schema(specs)  # type: ignore[arg-type]


def test_schema_queries() -> None:
    named = Schema([ColSpec("double", "x"), ColSpec("string", "c", required=False)])
    assert named.has_input_names() and not named.is_tensor_spec()
    assert named.input_names() == ["x", "c"]
    assert named.required_input_names() == ["x"]
    unnamed = Schema([ColSpec("double"), ColSpec("long")])
    assert not unnamed.has_input_names() and unnamed.input_names() == []
    tensors = Schema([TensorSpec("float32", [-1, 2], "a"), TensorSpec("int64", [-1], "b")])
    assert tensors.is_tensor_spec() and tensors.required_input_names() == ["a", "b"]


def test_spec_constructors_normalise_and_validate() -> None:
    assert ColSpec("long").type is DataType.long
    assert TensorSpec(np.float32, [-1, 3]).shape == (-1, 3)
    assert TensorSpec("float32", (-1, 3)) == TensorSpec(np.dtype("float32"), (-1, 3))
    with pytest.raises(SchemaError, match="'decimal' is not supported.*boolean, integer"):
        ColSpec("decimal", "price")
    with pytest.raises(SchemaError, match="not a numpy dtype"):
        TensorSpec("float99", (-1,))
    with pytest.raises(SchemaError, match=">= -1"):
        TensorSpec("float32", (-2, 3))
    with pytest.raises(SchemaError, match="non-empty string"):
        ColSpec("double", "")


def test_specs_are_frozen_and_hashable() -> None:
    spec = ColSpec("double", "x")
    with pytest.raises(AttributeError):
        spec.name = "y"  # type: ignore[misc]
    schema = Schema([spec])
    sig = ModelSignature(schema, params=ParamSchema([ParamSpec("l", "long", [1, 2], (-1,))]))
    assert len({schema, Schema([ColSpec("double", "x")])}) == 1
    assert hash(sig) == hash(ModelSignature.from_dict(sig.to_dict()))


def test_param_specs_check_their_defaults() -> None:
    assert ParamSpec("t", "double", 1).default == 1.0  # an int literal is fine for a double
    assert ParamSpec("d", "datetime", "2024-05-01T10:00:00").default == dt.datetime(2024, 5, 1, 10)
    assert ParamSpec("n", "long", None).default is None
    for dtype, bad in [("long", 1.5), ("long", True), ("integer", 2**40), ("boolean", 1)]:
        with pytest.raises(SchemaError, match="param 'p'"):
            ParamSpec("p", dtype, bad)
    with pytest.raises(SchemaError, match="shape"):
        ParamSpec("p", "long", [1], (2,))
    with pytest.raises(SchemaError, match="duplicate param names"):
        ParamSchema([ParamSpec("p", "long", 1), ParamSpec("p", "long", 2)])


def test_datetime_param_defaults_round_trip_as_iso_text() -> None:
    schema = ParamSchema([ParamSpec("since", "datetime", dt.datetime(2024, 5, 1, 10, 30))])
    assert json.loads(schema.to_json())[0]["default"] == "2024-05-01T10:30:00"
    assert ParamSchema.from_json(schema.to_json()) == schema


def test_signature_is_reachable_from_the_top_level_lazily() -> None:
    assert modelpack.ModelSignature is ModelSignature
    assert modelpack.infer_signature is modelpack.signature.infer_signature


def test_signature_package_exports_are_sorted_and_complete() -> None:
    import modelpack.signature as sig

    assert sig.__all__ == sorted(sig.__all__)
    modules = {"enforce", "infer", "schema"}
    assert {n for n in dir(sig) if not n.startswith("_")} - modules == set(sig.__all__)


def test_undecodable_bytes_are_a_schema_error() -> None:
    from modelpack.errors import SchemaError
    from modelpack.signature import Schema

    with pytest.raises(SchemaError, match="UTF-8"):
        Schema.from_json(b'"\xff"')


@pytest.mark.parametrize("field", ["inputs", "outputs", "params"])
def test_a_signature_nested_thousands_deep_is_a_schema_error(field: str) -> None:
    deep = "[" * 5000 + "]" * 5000
    with pytest.raises(SchemaError, match="nested too deeply"):
        ModelSignature.from_dict({field: deep})


def test_a_hundred_thousand_columns_are_checked_in_linear_time() -> None:
    import time

    specs = [ColSpec("double", f"c{i}") for i in range(100_000)]
    start = time.perf_counter()
    schema = Schema.from_json(Schema(specs).to_json())
    # the duplicate check used to count each name in the list: 10^10 steps, hours
    assert time.perf_counter() - start < 20
    assert len(schema.inputs) == 100_000
    with pytest.raises(SchemaError, match="'c7'"):
        Schema([*specs, ColSpec("long", "c7")])
