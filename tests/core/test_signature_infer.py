"""Inferring signatures from each kind of example data."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from modelpack.errors import SchemaError
from modelpack.signature import (
    ColSpec,
    DataType,
    ParamSchema,
    ParamSpec,
    Schema,
    TensorSpec,
    infer_signature,
)


def _columns(data: object) -> list[tuple[str | None, str, bool]]:
    schema = infer_signature(data).inputs
    assert schema is not None and not schema.is_tensor_spec()
    return [(s.name, s.type.value, s.required) for s in schema.inputs]  # type: ignore[union-attr]


def test_dataframe_of_numpy_dtypes() -> None:
    frame = pd.DataFrame(
        {
            "flag": [True, False],
            "i8": np.array([1, 2], dtype="int8"),
            "i32": np.array([1, 2], dtype="int32"),
            "i64": [1, 2],
            "u8": np.array([1, 2], dtype="uint8"),
            "u16": np.array([1, 2], dtype="uint16"),
            "u32": np.array([1, 2], dtype="uint32"),
            "f16": np.array([1, 2], dtype="float16"),
            "f32": np.array([1, 2], dtype="float32"),
            "f64": [0.5, 1.5],
            "when": pd.to_datetime(["2024-01-01", "2024-01-02"]),
            "when_s": np.array(["2024-01-01", "2024-01-02"], dtype="datetime64[s]"),
            "blob": [b"\x00", b"\x01"],
        }
    )
    assert _columns(frame) == [
        ("flag", "boolean", True),
        ("i8", "integer", True),
        ("i32", "integer", True),
        ("i64", "long", True),
        ("u8", "integer", True),
        ("u16", "integer", True),
        ("u32", "long", True),
        ("f16", "float", True),
        ("f32", "float", True),
        ("f64", "double", True),
        ("when", "datetime", True),
        ("when_s", "datetime", True),
        ("blob", "binary", True),
    ]


def test_pandas3_strings_and_missing_values_make_optional_columns() -> None:
    frame = pd.DataFrame({"city": ["Oslo", None], "name": ["a", "b"], "x": [1.0, np.nan]})
    assert isinstance(frame["city"].dtype, pd.StringDtype)  # pandas 3 infers `str`
    assert _columns(frame) == [
        ("city", "string", False),
        ("name", "string", True),
        ("x", "double", False),
    ]


@pytest.mark.parametrize(
    "dtype, values, expected",
    [
        ("Int8", [1, 2], ("integer", True)),
        ("Int16", [1, 2], ("integer", True)),
        ("Int32", [1, 2], ("integer", True)),
        ("Int64", [1, 2], ("long", True)),
        ("UInt8", [1, 2], ("integer", True)),
        ("UInt16", [1, 2], ("integer", True)),
        ("UInt32", [1, 2], ("long", True)),
        ("Float32", [1.5, None], ("float", False)),
        ("Float64", [1.5, 2.5], ("double", True)),
        ("boolean", [True, None], ("boolean", False)),
        ("string", ["a", None], ("string", False)),
        ("str", ["a", "b"], ("string", True)),
        ("string[pyarrow]", ["a", "b"], ("string", True)),
        ("int64[pyarrow]", [1, 2], ("long", True)),
        # ints up to 32 bits with missing values: double holds every value exactly
        ("Int32", [1, None], ("double", False)),
        ("UInt32", [1, None], ("double", False)),
    ],
)
def test_nullable_and_arrow_dtypes_map_to_a_real_type(
    dtype: str, values: list[object], expected: tuple[str, bool]
) -> None:
    frame = pd.DataFrame({"c": pd.array(values, dtype=dtype)})
    assert _columns(frame) == [("c", *expected)]


@pytest.mark.parametrize(
    "column, message",
    [
        (np.array([1, 2], dtype="uint64"), "uint64 has no lossless.*cast to int64"),
        (pd.array([1, 2], dtype="UInt64"), "uint64 has no lossless.*cast to int64"),
        (pd.array([1, None], dtype="Int64"), "Int64 with missing values.*fill"),
        (pd.to_datetime(["2024-01-01"]).tz_localize("UTC"), "tz-aware.*tz_convert"),
        (pd.Categorical(["a", "b", "a"]), "categorical"),
        (np.array([1, 2], dtype="timedelta64[s]"), "timedelta64.*not a signature type"),
        (np.array([1, "a"], dtype=object), "column 'c'.*mixed"),
        (np.array([None, None], dtype=object), "column 'c'.*every value is missing"),
    ],
)
def test_types_without_a_lossless_signature_type_are_explained(
    column: object, message: str
) -> None:
    frame = pd.DataFrame({"c": column})
    with pytest.raises(SchemaError, match=message):
        infer_signature(frame)


def test_object_columns_of_python_values() -> None:
    frame = pd.DataFrame(
        {
            "s": np.array(["a", None], dtype=object),
            "b": np.array([b"a", b"b"], dtype=object),
            "flag": np.array([True, None], dtype=object),
            "ints": np.array([1, None], dtype=object),
            "d": np.array([dt.datetime(2024, 1, 1), None], dtype=object),
        }
    )
    assert _columns(frame) == [
        ("s", "string", False),
        ("b", "binary", True),
        ("flag", "boolean", False),
        ("ints", "double", False),
        ("d", "datetime", False),
    ]


def test_series_is_one_column() -> None:
    assert _columns(pd.Series([1, 2], name="age")) == [("age", "long", True)]
    assert _columns(pd.Series([0.5])) == [(None, "double", True)]


def test_unnamed_frame_from_rows_is_an_unnamed_schema() -> None:
    assert _columns(pd.DataFrame([[1, 0.5]])) == [(None, "long", True), (None, "double", True)]
    with pytest.raises(SchemaError, match="column names must all be strings"):
        infer_signature(pd.DataFrame({"a": [1], 3: [2]}))


def test_ndarray_is_a_tensor_with_a_free_first_dimension() -> None:
    sig = infer_signature(np.zeros((5, 28, 28), dtype="uint8"), np.zeros(5))
    assert sig.inputs == Schema([TensorSpec("uint8", (-1, 28, 28))])
    assert sig.outputs == Schema([TensorSpec("float64", (-1,))])
    # uint64 tensors are fine: tensor dtypes are exact and never converted
    assert infer_signature(np.zeros(3, dtype="uint64")).inputs == Schema(
        [TensorSpec("uint64", (-1,))]
    )


def test_string_tensors_drop_the_length_as_mlflow_does() -> None:
    spec = infer_signature(np.array(["short", "longer one"])).inputs.inputs[0]  # type: ignore[union-attr]
    assert spec.to_dict() == {"type": "tensor", "tensor-spec": {"dtype": "<U0", "shape": [-1]}}


def test_dict_of_arrays_is_named_tensors() -> None:
    data = {"image": np.zeros((2, 3, 3), dtype="float32"), "mask": np.ones((2, 3), dtype=bool)}
    assert infer_signature(data).inputs == Schema(
        [TensorSpec("float32", (-1, 3, 3), "image"), TensorSpec("bool", (-1, 3), "mask")]
    )


def test_dict_of_lists_and_scalars_is_columns_like_a_dataframe() -> None:
    assert _columns({"age": [30, 40], "city": ["Oslo", None], "score": 0.5}) == [
        ("age", "long", True),
        ("city", "string", False),
        ("score", "double", True),
    ]


def test_records_are_columns_and_an_absent_key_makes_the_column_optional() -> None:
    records = [{"age": 30, "city": "Oslo"}, {"age": 41, "vip": True}]
    assert _columns(records) == [
        ("age", "long", True),
        ("city", "string", False),
        ("vip", "boolean", False),
    ]


def test_lists_and_scalars() -> None:
    assert _columns(["a", "b"]) == [(None, "string", True)]
    assert _columns([1, 2.5]) == [(None, "double", True)]
    assert _columns(3) == [(None, "long", True)]
    assert _columns([dt.datetime(2024, 1, 1)]) == [(None, "datetime", True)]
    assert infer_signature([[1, 2], [3, 4]]).inputs == Schema([TensorSpec("int64", (-1, 2))])
    with pytest.raises(SchemaError, match="mixed"):
        infer_signature([1, True])
    with pytest.raises(SchemaError, match="empty list"):
        infer_signature([])


def test_params_defaults_types_and_lists() -> None:
    sig = infer_signature(
        pd.DataFrame({"x": [1.0]}),
        params={"k": 3, "t": 0.5, "greedy": False, "stop": ["\n", "."], "w": [1, 2.5]},
    )
    assert sig.params == ParamSchema(
        [
            ParamSpec("k", DataType.long, 3),
            ParamSpec("t", DataType.double, 0.5),
            ParamSpec("greedy", DataType.boolean, False),
            ParamSpec("stop", DataType.string, ["\n", "."], (-1,)),
            ParamSpec("w", DataType.double, [1.0, 2.5], (-1,)),
        ]
    )
    with pytest.raises(SchemaError, match="param 'bad'.*mixes"):
        infer_signature(None, params={"bad": [1, "a"]})
    with pytest.raises(SchemaError, match="param 'obj'.*cannot infer"):
        infer_signature(None, params={"obj": object()})


def test_inferred_signature_enforces_its_own_example() -> None:
    from modelpack.signature import enforce_schema

    frame = pd.DataFrame(
        {
            "age": pd.array([30, None], dtype="Int32"),
            "city": ["Oslo", None],
            "x": np.array([0.5, 1.5], dtype="float32"),
        }
    )
    schema = infer_signature(frame).inputs
    assert schema is not None
    out = enforce_schema(frame, schema)
    assert out["age"].dtype == np.float64 and np.isnan(out["age"].iloc[1])
    assert out["x"].dtype == np.float32
    assert ColSpec("string", "city", required=False) in schema.inputs
