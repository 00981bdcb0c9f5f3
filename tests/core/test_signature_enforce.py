"""Signature enforcement: what predict, the server and the batch scorer let through."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from modelpack.errors import SchemaError
from modelpack.signature import (
    ColSpec,
    ParamSchema,
    ParamSpec,
    Schema,
    TensorSpec,
    enforce_params,
    enforce_schema,
)

SECRET = "SECRET-4242-do-not-log"


def _one(type_: str, required: bool = True) -> Schema:
    return Schema([ColSpec(type_, "c", required)])


# --- allowed conversions -------------------------------------------------------------

ALLOWED_NUMPY = [
    *[(t, "integer", "int32") for t in ("int8", "int16", "int32", "uint8", "uint16")],
    *[(t, "long", "int64") for t in ("int8", "int16", "int32", "int64", "uint8", "uint16")],
    ("uint32", "long", "int64"),
    *[(t, "double", "float64") for t in ("int8", "int16", "int32", "uint8", "uint16", "uint32")],
    *[(t, "double", "float64") for t in ("float16", "float32", "float64")],
    *[(t, "float", "float32") for t in ("float16", "float32")],
    ("bool", "boolean", "bool"),
]


@pytest.mark.parametrize("given, declared, result", ALLOWED_NUMPY)
def test_allowed_numpy_conversions_keep_every_value(given: str, declared: str, result: str) -> None:
    values = np.array([0, 1, 7], dtype=given)
    out = enforce_schema(pd.DataFrame({"c": values}), _one(declared))
    assert out["c"].dtype == np.dtype(result)
    assert out["c"].tolist() == values.tolist()


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_datetimes_of_any_unit_are_accepted(unit: str) -> None:
    stamps = np.array(["2024-05-01T10:00:00", "1999-12-31T23:59:59"], dtype=f"datetime64[{unit}]")
    out = enforce_schema(pd.DataFrame({"c": stamps}), _one("datetime"))
    assert out["c"].dtype.kind == "M"
    assert (
        out["c"].to_numpy().astype("datetime64[s]").tolist()
        == stamps.astype("datetime64[s]").tolist()
    )


@pytest.mark.parametrize(
    "column",
    [
        np.array(["a", "b"], dtype=object),
        pd.array(["a", "b"], dtype="string"),
        pd.array(["a", "b"], dtype="str"),
        pd.array(["a", "b"], dtype="string[pyarrow]"),
    ],
)
def test_strings_of_every_pandas_flavour_are_strings(column: Any) -> None:
    out = enforce_schema(pd.DataFrame({"c": column}), _one("string"))
    assert out["c"].tolist() == ["a", "b"]


def test_numpy_text_and_bytes_in_a_dict() -> None:
    schema = Schema([ColSpec("string", "s"), ColSpec("binary", "b")])
    # numpy's S dtype itself drops trailing NUL bytes, so none are used here
    out = enforce_schema({"s": np.array(["x", "yz"]), "b": np.array([b"\x00\x01", b"ab"])}, schema)
    assert out["s"].tolist() == ["x", "yz"]
    assert out["b"].tolist() == [b"\x00\x01", b"ab"]


@pytest.mark.parametrize(
    "dtype, declared, result",
    [
        ("Int8", "integer", "int32"),
        ("Int32", "long", "int64"),
        ("Int64", "long", "int64"),
        ("UInt16", "integer", "int32"),
        ("UInt32", "long", "int64"),
        ("Float32", "double", "float64"),
        ("boolean", "boolean", "bool"),
    ],
)
def test_nullable_pandas_dtypes_without_missing_values_act_as_numpy(
    dtype: str, declared: str, result: str
) -> None:
    values = [True, False] if dtype == "boolean" else [1, 2]
    out = enforce_schema(pd.DataFrame({"c": pd.array(values, dtype=dtype)}), _one(declared))
    assert out["c"].dtype == np.dtype(result)
    assert out["c"].tolist() == values


def test_missing_values_are_fine_where_the_type_can_hold_them() -> None:
    schema = Schema([ColSpec("double", "x"), ColSpec("double", "n"), ColSpec("string", "s")])
    frame = pd.DataFrame(
        {"x": [1.5, np.nan], "n": pd.array([3, None], dtype="Int16"), "s": ["a", None]}
    )
    out = enforce_schema(frame, schema)
    assert out["n"].dtype == np.float64 and out["n"].isna().tolist() == [False, True]
    assert out["s"].isna().tolist() == [False, True]


def test_nullable_booleans_with_missing_values_stay_objects_with_none() -> None:
    frame = pd.DataFrame({"c": pd.array([True, None], dtype="boolean")})
    assert enforce_schema(frame, _one("boolean"))["c"].tolist() == [True, None]
    assert enforce_schema({"c": [False, None]}, _one("boolean"))["c"].tolist() == [False, None]


def test_json_like_lists_take_the_declared_width() -> None:
    # Parsed JSON has no width: numbers become the declared type when exact.
    schema = Schema([ColSpec("float", "f"), ColSpec("integer", "i"), ColSpec("double", "d", False)])
    out = enforce_schema({"f": [0.5, 1], "i": [1, -2], "d": [1, None]}, schema)
    assert out.dtypes.astype(str).tolist() == ["float32", "int32", "float64"]
    assert out["d"].isna().tolist() == [False, True]
    with pytest.raises(SchemaError, match="column 'i'.*do not fit integer"):
        enforce_schema({"f": [0.5], "i": [2**31]}, schema)


def test_iso_text_and_base64_are_read_for_datetime_and_binary_columns() -> None:
    schema = Schema([ColSpec("datetime", "t"), ColSpec("binary", "b")])
    out = enforce_schema({"t": ["2024-05-01T10:00:00"], "b": ["AAE="]}, schema)
    assert out["t"].iloc[0] == pd.Timestamp("2024-05-01T10:00:00")
    assert out["b"].iloc[0] == b"\x00\x01"
    assert out["t"].dtype.kind == "M"
    assert enforce_schema({"t": [None], "b": [None]}, schema)["t"].isna().all()
    for bad, message in [
        ({"t": [SECRET], "b": ["AAE="]}, "column 't'.*not ISO 8601"),
        ({"t": ["2024-05-01"], "b": [SECRET]}, "column 'b'.*base64"),
    ]:
        with pytest.raises(SchemaError, match=message) as err:
            enforce_schema(bad, schema)
        assert SECRET not in str(err.value)
    with pytest.raises(SchemaError, match="column 't'.*naive"):
        enforce_schema({"t": ["2024-05-01T10:00:00+02:00"], "b": ["AAE="]}, schema)


# --- refused conversions -------------------------------------------------------------

REFUSED_NUMPY = [
    ("int64", "double", "long \\(int64\\)", "declare the column as long"),
    ("int64", "float", "long \\(int64\\)", "declare the column as long"),
    ("int64", "integer", "long \\(int64\\)", "declare the column as long"),
    ("uint32", "integer", "long \\(uint32\\)", "declare the column as long"),
    ("uint32", "float", "long \\(uint32\\)", "declare the column as double"),
    ("int32", "float", "integer \\(int32\\)", "declare the column as double"),
    ("float64", "float", "double \\(float64\\)", "declare the column as double"),
    ("float64", "long", "double \\(float64\\)", "never truncated"),
    ("float64", "integer", "double \\(float64\\)", "never truncated"),
    ("float32", "long", "float \\(float32\\)", "never truncated"),
    ("float16", "integer", "float \\(float16\\)", "never truncated"),
    ("uint64", "long", "uint64", "cast to int64"),
    ("uint64", "double", "uint64", "cast to int64"),
    ("bool", "long", "boolean \\(bool\\)", "declare the column as boolean"),
    ("bool", "double", "boolean \\(bool\\)", "declare the column as boolean"),
    ("bool", "integer", "boolean \\(bool\\)", "declare the column as boolean"),
    ("bool", "float", "boolean \\(bool\\)", "declare the column as boolean"),
    ("int64", "boolean", "long \\(int64\\)", "declare the column as long"),
    ("float64", "boolean", "double \\(float64\\)", "declare the column as double"),
    ("int64", "string", "long \\(int64\\)", "declare the column as long"),
    ("float64", "datetime", "double \\(float64\\)", "declare the column as double"),
]


@pytest.mark.parametrize("given, declared, given_label, hint", REFUSED_NUMPY)
def test_lossy_or_reinterpreting_conversions_are_refused(
    given: str, declared: str, given_label: str, hint: str
) -> None:
    # 1.0 and 0/1 would "fit": the refusal is about the type, never the values
    frame = pd.DataFrame({"c": np.array([1, 0], dtype=given)})
    with pytest.raises(SchemaError, match=f"column 'c': expected {declared}.*got {given_label}"):
        enforce_schema(frame, _one(declared))
    with pytest.raises(SchemaError, match=hint):
        enforce_schema(frame, _one(declared))


@pytest.mark.parametrize(
    "column, declared, message",
    [
        (np.array([SECRET, "7"], dtype=object), "long", "got string.*never parsed"),
        (pd.array([SECRET, "7"], dtype="str"), "double", "got string.*never parsed"),
        (np.array([SECRET, "7"]), "integer", "got string.*never parsed"),
        (np.array([SECRET, 5], dtype=object), "string", "got mixed objects.*strings only"),
        (np.array([1.5, np.nan]), "long", "got double"),
        (np.array([7, None], dtype=object), "long", "got missing values.*declare.*double"),
        (pd.array([7, None], dtype="Int64"), "long", "got missing values.*declare.*double"),
        (pd.array([7, None], dtype="Int64"), "double", "got long \\(int64\\)"),
        (
            pd.to_datetime([SECRET[:0] + "2024-01-01"]).tz_localize("Europe/Oslo"),
            "datetime",
            "naive.*tz_convert",
        ),
        (np.array([True, 1], dtype=object), "long", "mixed objects"),
        (pd.Categorical([SECRET]), "string", "category"),
    ],
)
def test_refusals_name_the_column_types_and_fix_but_never_the_data(
    column: Any, declared: str, message: str
) -> None:
    frame = pd.DataFrame({"age": column, "other": SECRET})
    schema = Schema([ColSpec(declared, "age")])
    with pytest.raises(SchemaError, match=f"column 'age': expected {declared}.*{message}") as err:
        enforce_schema(frame, schema)
    assert SECRET not in str(err.value) and "7" not in str(err.value)


def test_lists_refuse_the_same_things() -> None:
    schema = Schema([ColSpec("long", "n"), ColSpec("string", "s")])
    for bad, column in [
        ({"n": [1.0], "s": ["a"]}, "n"),  # float, even 1.0
        ({"n": [True], "s": ["a"]}, "n"),
        ({"n": [1], "s": [SECRET, 3]}, "s"),
        ({"n": [SECRET], "s": ["a"]}, "n"),
        ({"n": [2**64], "s": ["a"]}, "n"),
    ]:
        with pytest.raises(SchemaError, match=f"column '{column}'") as err:
            enforce_schema(bad, schema)
        assert SECRET not in str(err.value)


# --- matching columns ----------------------------------------------------------------


def test_every_missing_required_column_is_named_in_one_error() -> None:
    schema = Schema([ColSpec("double", "a"), ColSpec("double", "b"), ColSpec("long", "c")])
    with pytest.raises(SchemaError, match="missing required columns: 'a', 'c'"):
        enforce_schema(pd.DataFrame({"b": [1.0], "A": [1.0]}), schema)  # names are case-sensitive


def test_extra_columns_are_dropped_and_schema_order_kept() -> None:
    schema = Schema([ColSpec("double", "x"), ColSpec("string", "s")])
    frame = pd.DataFrame({"s": ["a"], "junk": [SECRET], "x": [1.0]}, index=[42])
    out = enforce_schema(frame, schema)
    assert list(out.columns) == ["x", "s"]
    assert out.index.tolist() == [42]


def test_absent_optional_columns_are_left_out() -> None:
    schema = Schema([ColSpec("double", "x"), ColSpec("string", "note", required=False)])
    assert list(enforce_schema({"x": [1.0]}, schema).columns) == ["x"]
    assert list(enforce_schema({"x": [1.0], "note": ["n"]}, schema).columns) == ["x", "note"]


def test_a_conforming_frame_is_returned_as_is_without_a_copy() -> None:
    schema = Schema([ColSpec("double", "x"), ColSpec("long", "n"), ColSpec("string", "s")])
    frame = pd.DataFrame({"x": [1.0], "n": [1], "s": ["a"]})
    assert enforce_schema(frame, schema) is frame


def test_unnamed_schema_matches_by_position() -> None:
    schema = Schema([ColSpec("double"), ColSpec("long")])
    out = enforce_schema(np.array([[1, 2], [3, 4]], dtype="int32"), schema)
    assert out.dtypes.astype(str).tolist() == ["float64", "int64"]
    out = enforce_schema([[0.5, 2], [1.5, 3]], schema)
    assert out.to_numpy().tolist() == [[0.5, 2], [1.5, 3]]
    out = enforce_schema(pd.DataFrame({"f": [0.5], "g": [1]}), schema)
    assert list(out.columns) == ["f", "g"]
    for wrong in ([[1.0, 2, 3]], pd.DataFrame({"f": [0.5]}), np.ones((1, 3))):
        with pytest.raises(SchemaError, match="expected 2 columns.*got"):
            enforce_schema(wrong, schema)


def test_rows_match_a_named_schema_by_position() -> None:
    schema = Schema([ColSpec("double", "x"), ColSpec("string", "s")])
    out = enforce_schema([[0.5, "a"], [1.5, "b"]], schema)
    assert list(out.columns) == ["x", "s"] and out["s"].tolist() == ["a", "b"]


def test_records_series_and_scalars() -> None:
    schema = Schema([ColSpec("double", "x"), ColSpec("string", "s", required=False)])
    out = enforce_schema([{"x": 1.0, "s": "a"}, {"x": 2.5}], schema)
    assert out["x"].tolist() == [1.0, 2.5] and out["s"].isna().tolist() == [False, True]
    assert enforce_schema({"x": 3.0}, schema)["x"].tolist() == [3.0]
    assert enforce_schema(pd.Series([1.0, 2.0], name="x"), schema)["x"].tolist() == [1.0, 2.0]
    with pytest.raises(SchemaError, match="different lengths"):
        enforce_schema({"x": [1.0, 2.0], "s": ["a"]}, schema)
    with pytest.raises(SchemaError, match="DataFrame, dict, records or rows"):
        enforce_schema(object(), schema)


# --- tensors -------------------------------------------------------------------------


def test_tensor_dtype_is_exact() -> None:
    schema = Schema([TensorSpec("float32", (-1, 4))])
    x = np.zeros((2, 4), dtype="float32")
    assert enforce_schema(x, schema) is x
    with pytest.raises(
        SchemaError, match=r"expected float32 with shape \(-1, 4\), got float64 with shape \(2, 4\)"
    ):
        enforce_schema(x.astype("float64"), schema)


@pytest.mark.parametrize("shape", [(2,), (2, 3), (2, 4, 1)])
def test_tensor_rank_and_fixed_dimensions_are_checked(shape: tuple[int, ...]) -> None:
    schema = Schema([TensorSpec("float32", (-1, 4))])
    with pytest.raises(SchemaError, match=r"expected shape \(-1, 4\).*got \("):
        enforce_schema(np.zeros(shape, dtype="float32"), schema)


def test_tensor_lists_are_converted_only_losslessly() -> None:
    ints = Schema([TensorSpec("int8", (-1,))])
    floats = Schema([TensorSpec("float32", (-1, 2))])
    assert enforce_schema([1, -3], ints).dtype == np.int8
    assert enforce_schema([[1, 2], [0.5, 3]], floats).dtype == np.float32
    with pytest.raises(SchemaError, match="got a list of floats.*never truncated"):
        enforce_schema([1.0, 2.0], ints)
    with pytest.raises(SchemaError, match="do not fit int8"):
        enforce_schema([1, 300], ints)
    with pytest.raises(SchemaError, match="do not fit float32 exactly"):
        enforce_schema([[2**25 + 1, 0]], floats)
    with pytest.raises(SchemaError, match="ragged"):
        enforce_schema([[1.0, 2.0], [3.0]], floats)
    with pytest.raises(SchemaError, match="got a list of booleans"):
        enforce_schema([True], ints)


def test_named_tensors_from_dict_and_frame() -> None:
    schema = Schema([TensorSpec("int64", (-1,), "ids"), TensorSpec("float64", (-1,), "w")])
    out = enforce_schema({"w": np.ones(2), "ids": [1, 2], "extra": [SECRET]}, schema)
    assert list(out) == ["ids", "w"] and out["ids"].dtype == np.int64
    out = enforce_schema(pd.DataFrame({"ids": [1, 2], "w": [0.5, 1.0]}), schema)
    assert out["w"].tolist() == [0.5, 1.0]
    with pytest.raises(SchemaError, match="missing tensors: 'ids'"):
        enforce_schema({"w": np.ones(2)}, schema)
    with pytest.raises(SchemaError, match="2 named tensors"):
        enforce_schema(np.ones(2), schema)


def test_single_tensor_from_a_frame_needs_every_column_in_its_dtype() -> None:
    schema = Schema([TensorSpec("float64", (-1, 2))])
    assert enforce_schema(pd.DataFrame({"a": [1.0], "b": [2.0]}), schema).tolist() == [[1.0, 2.0]]
    with pytest.raises(SchemaError, match="every column as float64, got int64"):
        enforce_schema(pd.DataFrame({"a": [1.0], "b": [2]}), schema)


def test_tensor_errors_never_echo_data() -> None:
    schema = Schema([TensorSpec("int64", (-1,), "ids")])
    with pytest.raises(SchemaError) as err:
        enforce_schema({"ids": [SECRET]}, schema)
    assert SECRET not in str(err.value)


# --- params --------------------------------------------------------------------------

PARAMS = ParamSchema(
    [
        ParamSpec("k", "long", 3),
        ParamSpec("t", "double", 0.5),
        ParamSpec("stop", "string", ["."], (-1,)),
    ]
)


def test_params_are_checked_and_defaults_filled() -> None:
    assert enforce_params(None, PARAMS) == {"k": 3, "t": 0.5, "stop": ["."]}
    assert enforce_params({"t": 1, "stop": ("a", "b")}, PARAMS) == {
        "k": 3,
        "t": 1.0,
        "stop": ["a", "b"],
    }
    assert enforce_params(None, None) == {} and enforce_params({}, None) == {}


def test_unknown_params_are_named_with_the_accepted_ones() -> None:
    with pytest.raises(SchemaError, match="unknown params 'top_p' — this model accepts: 'k', 't'"):
        enforce_params({"top_p": 0.9, "k": 1}, PARAMS)


def test_params_for_a_model_without_params_are_refused() -> None:
    with pytest.raises(SchemaError, match="this model declares no params"):
        enforce_params({"k": 1}, None)


@pytest.mark.parametrize("name, value", [("k", 1.5), ("k", SECRET), ("t", True), ("stop", SECRET)])
def test_param_values_of_the_wrong_type_are_refused_without_echo(name: str, value: Any) -> None:
    with pytest.raises(SchemaError, match=f"param '{name}'") as err:
        enforce_params({name: value}, PARAMS)
    assert SECRET not in str(err.value)


@pytest.mark.parametrize(
    "declared, limit",
    [("double", 2**53), ("float", 2**24)],
)
def test_untyped_integers_must_be_exact_in_a_float_column(declared: str, limit: int) -> None:
    # judged on the integers as sent, not after the cast: limit + 1 would already be
    # limit by then; integers among floats (a merged batch) are judged the same way
    ok = enforce_schema({"c": [limit, -limit, None]}, _one(declared))
    assert ok["c"].iloc[0] == limit and ok["c"].iloc[1] == -limit
    assert enforce_schema({"c": [3, 0.5]}, _one(declared))["c"].tolist() == [3.0, 0.5]
    for values in (
        [limit + 1],
        [-(limit + 1)],
        [limit + 1, 0.5],
        [None, limit + 1],
        [2**63],
        [-(2**63)],
        [10**29 + 1, 0.5],
    ):
        with pytest.raises(SchemaError, match="integers too large to be exact"):
            enforce_schema({"c": values}, _one(declared))
