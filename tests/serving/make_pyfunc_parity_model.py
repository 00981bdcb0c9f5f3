"""Save the pyfunc model the MLflow parity test serves, with modelpack (run by modelpack's
Python: ``python make_pyfunc_parity_model.py OUT_DIR``).

The class lives in ``__main__``, so cloudpickle stores it by value: the directory loads in
any interpreter with modelpack importable, MLflow's included. A ``kind`` parameter picks
what ``predict`` returns: ``array`` (float64 row sums / 3, the default), ``frame`` (a
DataFrame with a float and an int column), ``dict`` (a dict of an array and a list),
``float32``, ``tiny`` (values near 1e-7, where JSON writers' layouts differ), ``series``
(an unnamed Series), ``strings`` (a str array), ``nan`` (a float array with NaN and inf).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import modelpack.pyfunc
from modelpack.signature import infer_signature

COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


class Shapes(modelpack.pyfunc.PythonModel):
    def predict(self, context: Any, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        values = model_input[COLUMNS].to_numpy(dtype=np.float64)
        total = values.sum(axis=1) / 3.0
        label = values.argmax(axis=1) + (values[:, 3] > 1)
        kind = (params or {}).get("kind", "array")
        if kind == "frame":
            return pd.DataFrame({"total": total, "label": label})
        if kind == "dict":
            return {"total": total, "label": label.tolist()}
        if kind == "float32":
            return total.astype(np.float32)
        if kind == "tiny":
            return total * 1e-7
        if kind == "series":
            return pd.Series(total)
        if kind == "strings":
            return np.array([f"class-{i}" for i in label])
        if kind == "nan":
            return np.where(label == 0, np.nan, np.inf) * total
        return total


def main(out: Path) -> None:
    frame = pd.DataFrame([[5.1, 3.5, 1.4, 0.2], [6.3, 2.9, 5.6, 1.8]], columns=COLUMNS)
    modelpack.pyfunc.save_model(
        out / "pyfunc",
        python_model=Shapes(),
        signature=infer_signature(frame, None, params={"kind": "array"}),
        input_example=frame,
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
