"""Save the models the MLflow parity tests serve, with real MLflow (run by the MLflow venv's
Python: ``python make_parity_models.py OUT_DIR``).

- ``sklearn``: iris LogisticRegression, column signature (four double columns), skops;
- ``onnx_columns``: a two-output ONNX graph (``total`` float32, ``label`` int64, one value
  per row) saved from a float64 DataFrame example, so its signature says double while
  the graph takes float32, as MLflow users' models do;
- ``onnx_tensor``: iris LogisticRegression through skl2onnx (``label``, ``probabilities``),
  tensor signature from a float32 array.
"""

from __future__ import annotations

import sys
from pathlib import Path

import mlflow.onnx
import mlflow.sklearn
import numpy as np
import pandas as pd
from mlflow.models import infer_signature
from onnx import TensorProto, helper
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def main(out: Path) -> None:
    data = load_iris()
    frame = pd.DataFrame(data.data, columns=COLUMNS)
    clf = LogisticRegression(max_iter=500, random_state=0).fit(frame, data.target)
    mlflow.sklearn.save_model(
        clf,
        str(out / "sklearn"),
        serialization_format="skops",
        signature=infer_signature(frame, clf.predict(frame)),
        input_example=frame.head(2),
    )

    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 4])
    total = helper.make_tensor_value_info("total", TensorProto.FLOAT, [None])
    label = helper.make_tensor_value_info("label", TensorProto.INT64, [None])
    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [1])
    graph = helper.make_graph(
        [
            helper.make_node("ReduceSum", ["X", "axes"], ["total"], keepdims=0),
            helper.make_node("ArgMax", ["X"], ["label"], axis=1, keepdims=0),
        ],
        "sum_and_argmax",
        [x],
        [total, label],
        initializer=[axes],
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    proto.ir_version = 8
    outputs = pd.DataFrame({"total": [1.0], "label": [0]})
    mlflow.onnx.save_model(
        proto,
        str(out / "onnx_columns"),
        signature=infer_signature(frame.head(2), outputs),
        input_example=frame.head(2),
    )

    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    tensor_clf = LogisticRegression(max_iter=500, random_state=0).fit(
        frame.to_numpy(np.float32), data.target
    )
    onx = convert_sklearn(
        tensor_clf,
        initial_types=[("X", FloatTensorType([None, 4]))],
        options={id(tensor_clf): {"zipmap": False}},
        target_opset=17,
    )
    x32 = frame.to_numpy(np.float32)
    mlflow.onnx.save_model(
        onx,
        str(out / "onnx_tensor"),
        signature=infer_signature(
            x32,
            {
                "label": tensor_clf.predict(x32),
                "probabilities": tensor_clf.predict_proba(x32).astype(np.float32),
            },
        ),
        input_example=x32[:2],
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
