"""From a model's predictions to Arrow columns typed by its output signature.

A model may return a DataFrame, a Series, an ndarray, a list or a dict of arrays;
the batch scorer needs one Arrow table with one row per input row. Column names
come from ``--result-column``, else the output signature, else ``prediction``; types
come from the output signature when it has one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelpack.errors import PredictionError

if TYPE_CHECKING:
    import pyarrow as pa

    from modelpack.pyfunc_model import ModelMetadata

DEFAULT_RESULT_COLUMN = "prediction"

_ARROW_TYPES = {
    "boolean": "bool_",
    "integer": "int32",
    "long": "int64",
    "float": "float32",
    "double": "float64",
    "string": "string",
    "binary": "binary",
    "datetime": "timestamp",
}


def _arrow_type(spec: Any) -> pa.DataType | None:
    """The Arrow type of a ColSpec or TensorSpec (a tensor's element type)."""
    import pyarrow as pa

    dtype = getattr(spec, "dtype", None)
    if dtype is not None:
        try:
            return pa.from_numpy_dtype(dtype)
        except (pa.ArrowNotImplementedError, TypeError):
            return None
    name = getattr(getattr(spec, "type", None), "value", None)
    factory = _ARROW_TYPES.get(str(name))
    if factory is None:
        return None
    if factory == "timestamp":
        return pa.timestamp("ns")
    return getattr(pa, factory)()


@dataclass(frozen=True)
class OutputSpec:
    """How predictions become columns: names and (optional) Arrow types, in order.

    >>> OutputSpec(("prediction",), (None,)).single_name
    'prediction'
    """

    names: tuple[str, ...]
    types: tuple[pa.DataType | None, ...]
    explicit_name: bool = False

    @property
    def single_name(self) -> str:
        return self.names[0] if len(self.names) == 1 else DEFAULT_RESULT_COLUMN

    @classmethod
    def from_metadata(cls, metadata: ModelMetadata, result_column: str | None) -> OutputSpec:
        """The spec the model's output signature and ``--result-column`` give."""
        signature = metadata.signature
        outputs = signature.outputs if signature is not None else None
        specs: list[Any] = list(outputs.inputs) if outputs is not None else []
        types = tuple(_arrow_type(s) for s in specs) or (None,)
        named = [s.name for s in specs if s.name is not None]
        if result_column is not None:
            from modelpack.errors import InvalidInput

            if not result_column.strip():
                raise InvalidInput("result column name must not be empty")
            if len(specs) > 1:
                raise InvalidInput(_one_name_only(len(specs), named))
            return cls((result_column,), types[:1] if len(types) == 1 else (None,), True)
        if named and len(named) == len(specs):
            return cls(tuple(named), types)
        return cls((DEFAULT_RESULT_COLUMN,), types if len(types) == 1 else (None,))


def _one_name_only(count: int, names: list[str]) -> str:
    listed = f" ({', '.join(names[:10])})" if names else ""
    return (
        f"--result-column names one prediction column, but the model answers {count} "
        f"columns{listed}; leave it out to keep the model's names"
    )


def input_names(metadata: ModelMetadata) -> list[str] | None:
    """The input columns the model reads, or None when it reads every column."""
    signature = metadata.signature
    if signature is None or signature.inputs is None:
        return None
    names = signature.inputs.input_names()
    return names or None


def _only_tensor(metadata: ModelMetadata) -> Any | None:
    """The model's only input's TensorSpec, when its one input is a tensor."""
    signature = metadata.signature
    inputs = signature.inputs if signature is not None else None
    if inputs is None or not inputs.is_tensor_spec() or len(inputs.inputs) != 1:
        return None
    return inputs.inputs[0]


def single_tensor(metadata: ModelMetadata) -> str | None:
    """The name of the model's only input when that input is a tensor ('' if unnamed)."""
    spec = _only_tensor(metadata)
    return None if spec is None else spec.name or ""


def tensor_type(metadata: ModelMetadata) -> pa.DataType | None:
    """The Arrow type of the elements of the model's only input, when that is a tensor."""
    spec = _only_tensor(metadata)
    return None if spec is None else _arrow_type(spec)


def column_types(metadata: ModelMetadata) -> dict[str, pa.DataType] | None:
    """Arrow types for the signature's named columns, to parse CSV and JSON lines with."""
    signature = metadata.signature
    if signature is None or signature.inputs is None or signature.inputs.is_tensor_spec():
        return None
    types = {s.name: _arrow_type(s) for s in signature.inputs.inputs if s.name is not None}
    return {name: t for name, t in types.items() if t is not None} or None


def to_table(predictions: Any, rows: int, spec: OutputSpec) -> pa.Table:
    """``predictions`` for ``rows`` input rows as a table of the spec's columns and types.

    >>> to_table(np.array([0, 1]), 2, OutputSpec(("label",), (None,))).column_names  # doctest: +SKIP
    ['label']
    """
    import pyarrow as pa

    columns = _columns(predictions, spec)
    for name, column in columns.items():
        if len(column) != rows:
            raise PredictionError(
                f"the model returned {len(column)} values for column '{name}' "
                f"for {rows} input rows; it must return one per row"
            )
    if len(columns) == len(spec.types):
        typed = {}
        for (name, column), target in zip(columns.items(), spec.types, strict=True):
            typed[name] = _cast(column, target, name)
        columns = typed
    return pa.table(columns)


def _columns(predictions: Any, spec: OutputSpec) -> dict[str, pa.Array]:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    try:
        if isinstance(predictions, pd.DataFrame):
            frame = pa.Table.from_pandas(predictions, preserve_index=False)
            if frame.num_columns == 1:
                return {spec.single_name: frame.column(0).combine_chunks()}
            _one_column_if_named(spec, frame.column_names)
            return {n: frame.column(n).combine_chunks() for n in frame.column_names}
        if isinstance(predictions, pd.Series):
            return {spec.single_name: pa.Array.from_pandas(predictions)}
        if isinstance(predictions, dict):
            _one_column_if_named(spec, [str(k) for k in predictions])
            return {str(k): _array(np.asarray(v)) for k, v in predictions.items()}
        return {spec.single_name: _array(np.asarray(predictions))}
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, ValueError) as exc:
        raise PredictionError(
            f"the model's predictions ({type(predictions).__name__}) cannot be stored as "
            f"columns: {str(exc).splitlines()[0][:160]}"
        ) from None


def _one_column_if_named(spec: OutputSpec, names: list[str]) -> None:
    """``--result-column`` with a model that answers several columns (and has no output
    signature to say so up front): refused rather than silently ignored."""
    if spec.explicit_name and len(names) > 1:
        raise PredictionError(_one_name_only(len(names), names))


def _array(values: Any) -> pa.Array:
    import pyarrow as pa

    if values.ndim == 0:
        raise PredictionError("the model returned a single value, not one value per row")
    if values.ndim == 1:
        return pa.array(values)
    if values.ndim == 2:
        flat = pa.array(values.reshape(-1))
        return pa.FixedSizeListArray.from_arrays(flat, values.shape[1])
    raise PredictionError(
        f"the model returned a {values.ndim}-dimensional array; batch output holds "
        "one value or one list per row"
    )


def _cast(column: pa.Array, target: pa.DataType | None, name: str) -> pa.Array:
    import pyarrow as pa

    if target is None or column.type == target:
        return column
    if pa.types.is_fixed_size_list(column.type):
        target = pa.list_(target, column.type.list_size)
    elif pa.types.is_list(column.type):
        target = pa.list_(target)
    try:
        return column.cast(target, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise PredictionError(
            f"output column '{name}': the model returned {column.type}, which cannot be stored "
            f"as the output signature's {target} without changing values"
        ) from None


__all__ = [
    "DEFAULT_RESULT_COLUMN",
    "OutputSpec",
    "column_types",
    "input_names",
    "single_tensor",
    "tensor_type",
    "to_table",
]
