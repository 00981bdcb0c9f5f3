"""Score Spark DataFrames with any model: ``spark_udf`` returns a pandas UDF.

The UDF takes Arrow batches as an iterator, loads the model once per Python worker
(and keeps it for the worker's life), and sends every batch through
:meth:`PyFuncModel.prepare_input`, the same enforcement as ``predict``. Columns are
matched by name when they arrive as a struct (or as column names), by the signature's
order when they arrive as separate columns, and default to the signature's inputs
when the UDF is called with no arguments. Needs ``pyspark``; the model directory must
be readable at the same path on every executor (local mode, or a shared filesystem).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from modelpack.errors import DependencyMissing, InvalidInput

if TYPE_CHECKING:
    import pandas as pd

    from modelpack.pyfunc_model import ModelMetadata, PyFuncModel

_SPARK_TYPES = {
    "boolean": "boolean",
    "integer": "int",
    "long": "long",
    "float": "float",
    "double": "double",
    "string": "string",
    "binary": "binary",
    "datetime": "timestamp",
}
_NUMPY_SPARK = {"i": "long", "u": "long", "f": "double", "b": "boolean", "U": "string"}
# One loaded model per (path, trust) in each Python worker, reused across tasks.
_MODELS: dict[tuple[str, bool | None], PyFuncModel] = {}


def _model(path: str, trust: bool | None) -> PyFuncModel:
    key = (path, trust)
    if key not in _MODELS:
        from modelpack.pyfunc_model import load_model

        _MODELS[key] = load_model(path, trust=trust)
    return _MODELS[key]


def default_result_type(metadata: ModelMetadata) -> str:
    """The Spark type (DDL) of one output column, from the output signature; else double.

    >>> default_result_type(model.metadata)  # doctest: +SKIP
    'long'
    """
    signature = metadata.signature
    outputs = signature.outputs if signature is not None else None
    if outputs is None or len(outputs.inputs) != 1:
        return "double"
    spec: Any = outputs.inputs[0]
    dtype = getattr(spec, "dtype", None)
    if dtype is not None:
        element = _NUMPY_SPARK.get(dtype.kind, "double")
        return element if len(spec.shape) <= 1 else f"array<{element}>"
    return _SPARK_TYPES.get(spec.type.value, "double")


def _frame(args: Any, names: list[str] | None) -> pd.DataFrame:
    """One batch's columns as a DataFrame, named by struct fields or by the signature.

    Spark hands a single argument over bare (a Series, or a DataFrame for a struct)
    and several as a tuple.
    """
    import pandas as pd

    if isinstance(args, pd.DataFrame):
        return args
    if isinstance(args, pd.Series):
        args = (args,)
    if len(args) == 1 and isinstance(args[0], pd.DataFrame):
        return args[0]
    if names is not None and len(names) == len(args):
        return pd.DataFrame({name: column for name, column in zip(names, args, strict=True)})
    return pd.DataFrame({str(i): column for i, column in enumerate(args)})


def _series(predictions: Any, rows: int) -> pd.Series | pd.DataFrame:
    import numpy as np
    import pandas as pd

    from modelpack.errors import PredictionError

    if isinstance(predictions, pd.DataFrame):
        result: pd.Series | pd.DataFrame = (
            predictions.iloc[:, 0] if predictions.shape[1] == 1 else predictions
        )
    elif isinstance(predictions, pd.Series):
        result = predictions
    else:
        values = np.asarray(predictions)
        result = pd.Series(list(values) if values.ndim == 2 else values)
    if len(result) != rows:
        raise PredictionError(
            f"the model returned {len(result)} predictions for {rows} rows; it must return one per row"
        )
    return result.reset_index(drop=True)


def spark_udf(
    spark: Any,
    model_uri: str | os.PathLike[str],
    result_type: Any = None,
    *,
    params: dict[str, Any] | None = None,
    trust: bool | None = None,
) -> Callable[..., Any]:
    """A Spark pandas UDF that scores columns with the model at ``model_uri``.

    ``result_type`` is a Spark type or DDL string (``"double"``, ``"array<double>"``);
    by default it comes from the output signature. Call the UDF with a struct, with
    column names, with columns in the signature's order, or with nothing for the
    signature's own input columns.

    >>> predict = spark_udf(spark, "models:/iris/1")  # doctest: +SKIP
    >>> df.withColumn("prediction", predict()).show()  # doctest: +SKIP
    """
    try:
        from pyspark.sql.functions import col, struct
        from pyspark.sql.pandas.functions import pandas_udf
    except ImportError:
        raise DependencyMissing("spark_udf needs pyspark: pip install 'modelpack[spark]'") from None
    from modelpack.model_dir import verify_model_dir
    from modelpack.pyfunc_model import ModelMetadata
    from modelpack.uris import resolve_model_uri

    path = resolve_model_uri(model_uri)
    metadata = ModelMetadata(path=path, mlmodel=verify_model_dir(path))
    signature = metadata.signature
    names = signature.inputs.input_names() if signature and signature.inputs else []
    return_type = result_type if result_type is not None else default_result_type(metadata)
    model_path = str(path)

    def predict_batches(batches: Iterator[tuple[Any, ...]]) -> Iterator[Any]:
        model = _model(model_path, trust)
        for args in batches:
            frame = _frame(args, names or None)
            data, checked = model.prepare_input(frame, params)
            yield _series(model.predict_prepared(data, checked), len(frame))

    # Spark reads the UDF's kind (an iterator of column tuples) from these hints.
    import pandas as pd

    predict_batches.__annotations__ = {
        "batches": Iterator[tuple[pd.Series, ...]],
        "return": Iterator[pd.Series],
    }
    udf = pandas_udf(predict_batches, return_type)  # type: ignore[call-overload]

    def call(*columns: Any) -> Any:
        if not columns:
            if not names:
                raise InvalidInput(
                    "the model's signature names no input columns; pass the columns to the UDF"
                )
            columns = tuple(names)
        if all(isinstance(c, str) for c in columns):
            # Names travel as struct fields, so they are matched by name, not position.
            return udf(struct(*[col(c) for c in columns]))
        return udf(*columns)

    call.__doc__ = spark_udf.__doc__
    return call


__all__ = ["default_result_type", "spark_udf"]
