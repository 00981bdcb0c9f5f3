"""Convert a scikit-learn pipeline to ONNX with skl2onnx and serve-ready save it.

pip install skl2onnx
python examples/sklearn_to_onnx.py [OUTPUT_DIR]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import modelpack


def main(out_dir: Path) -> None:
    features, target = load_iris(return_X_y=True)
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(
        features, target
    )
    onnx_model = convert_sklearn(
        pipeline,
        initial_types=[("X", FloatTensorType([None, 4]))],
        options={id(pipeline.steps[-1][1]): {"zipmap": False}},
        target_opset=17,
    )
    path = out_dir / "iris-onnx"
    modelpack.onnx.save_model(onnx_model, path)  # signature read from the ONNX graph
    model = modelpack.load_model(path)
    print(f"signature: {model.signature.to_dict()['inputs']}")

    rows = features[:5].astype(np.float32)
    outputs = model.predict(rows)
    agree = bool((outputs["label"] == pipeline.predict(rows)).all())
    print(f"ONNX labels agree with scikit-learn: {agree}")

    try:
        model.predict(features[:5])  # float64: the graph takes float32
    except modelpack.SchemaError as err:
        print(f"bad input refused: {err}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp()))
